//! State that will have to leave the process when several nodes serve one chat, each behind a
//! small trait with an in-memory implementation; `cluster` has the ones over Redis.
//!
//! - [`limiter`]: rate limits per key (a user), answering how long to wait.
//! - [`presence`]: who is online in each room, counted per user and per node.
//! - [`membership`]: "user U joined or left room R", for every node to apply to its sockets.
//! - [`stops`]: "stop reply R", for the node that writes it.
//! - [`budgets`]: the bot's tokens spent per user over the last minute, and requests in flight.
//! - [`leases`]: a name one holder at a time may hold (a room the bot writes in).
//! - [`broadcasts`]: plain events for rooms' or users' sockets (the HTTP API, the Redis emitter).
//! - [`fanout`]: requests every node hears, the shape `stops` and `census` share.
//! - [`census`]: "tell the Admin UI of your sockets", for every other node.

pub mod broadcasts;
pub mod budgets;
pub mod census;
pub mod fanout;
pub mod leases;
pub mod limiter;
pub mod membership;
pub mod presence;
pub mod stops;

pub use broadcasts::{Broadcast, Broadcasts, MemoryBroadcasts};
pub use budgets::{InFlight, MemoryInFlight, MemoryTokenBudgets, Spent, TokenBudgets};
pub use census::{Census, CensusRequest, MemoryCensus};
pub use fanout::{Fanout, MemoryFanout, Origin};
pub use leases::{Leases, MemoryLeases};
pub use limiter::{Limiter, Limiters, MemoryLimiter, MemoryLimiters, Rate};
pub use membership::{MemberEvent, Membership, MemoryMembership, Told};
pub use presence::{MemoryPresence, Presence, PresenceTable, Presences};
pub use stops::{MemoryStops, StopRequest, Stops};
