//! Server-made ids: messages, rooms, guests.

/// A new random id with a prefix, in lowercase base-36.
pub fn new_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    for _ in 0..len {
        id.push(char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]));
    }
    id
}
