//! A place reserved for a request, held between admission and the storing of its message.

use futures_util::FutureExt;

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
            self.bot.0.admissions.release(&self.room);
            let bot = self.bot.clone();
            let user = std::mem::take(&mut self.user_id);
            // At once when it can be (in memory); what must wait for Redis finishes in a task.
            let mut settle = Box::pin(async move { bot.settle(&user).await });
            if settle.as_mut().now_or_never().is_none() {
                tokio::spawn(settle);
            }
        }
    }
}
