//! A place reserved for a request, held between admission and the storing of its message.

use super::Bot;

/// A place reserved for a request, taken before its message is stored so a refusal stores
/// nothing. Dropping it unused gives the place back.
#[must_use]
pub struct Admission {
    pub(super) bot: Bot,
    pub(super) room: String,
    pub(super) user_id: String,
    pub(super) used: bool,
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.used {
            self.bot.0.admissions.release(&self.room, &self.user_id);
        }
    }
}
