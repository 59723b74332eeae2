//! The Admin UI's commands, as the package takes them: `emit(nsp, filter, event, ...args)`,
//! `join(nsp, room, filter)`, `leave(nsp, room, filter)` and `_disconnect(nsp, close, filter)`.
//!
//! `filter` is absent (every socket of the namespace), a socket id (that socket, here or on
//! another node) or a room (its sockets on every node). The UI asks for no ack; one that asks
//! gets `{ ok: true, data: {} }` or `{ ok: false, error }` (`bad_request`, `not_found`, or
//! `forbidden` under `--admin-readonly`, which obeys nothing).

use std::str::FromStr;

use serde_json::Value;
use socketioxide::{
    SocketIo,
    adapter::Adapter,
    extract::{AckSender, SocketRef, TryData},
    operators::BroadcastOperators,
    socket::Sid,
};

use super::Admin;
use crate::wire::{Args, Empty, ErrorBody, ErrorCode, Reply};

/// The events the UI sends.
pub const EVENTS: [&str; 4] = ["emit", "join", "leave", "_disconnect"];

/// Which sockets a command is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every socket of the namespace.
    All,
    /// One socket.
    Socket(Sid),
    /// The sockets in a room.
    Room(String),
}

/// A command, read from its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Emit `event` with `args`.
    Emit {
        /// Namespace.
        nsp: String,
        /// To whom.
        target: Target,
        /// The event's name.
        event: String,
        /// Its arguments.
        args: Vec<Value>,
    },
    /// Make sockets join (`true`) or leave a room.
    Room {
        /// Namespace.
        nsp: String,
        /// The room.
        room: String,
        /// Join or leave.
        join: bool,
        /// Who.
        target: Target,
    },
    /// Disconnect sockets (`close`: the whole connection; the same here, a chat client has one
    /// namespace).
    Disconnect {
        /// Namespace.
        nsp: String,
        /// Who.
        target: Target,
    },
}

fn bad(message: &str) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, message)
}

fn text(v: Option<&Value>, what: &str) -> Result<String, ErrorBody> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(bad(&format!("{what} must be a non-empty string"))),
    }
}

fn target(v: Option<&Value>) -> Result<Target, ErrorBody> {
    match v {
        None | Some(Value::Null) => Ok(Target::All),
        Some(Value::String(s)) if s.is_empty() => Ok(Target::All),
        Some(Value::String(s)) => {
            Ok(Sid::from_str(s).map_or_else(|_| Target::Room(s.clone()), Target::Socket))
        }
        Some(_) => Err(bad("the filter must be a socket id or a room")),
    }
}

/// Reads the command `name` from its arguments.
pub fn parse(name: &str, args: Vec<Value>) -> Result<Command, ErrorBody> {
    let nsp = text(args.first(), "the namespace")?;
    match name {
        "emit" => Ok(Command::Emit {
            target: target(args.get(1))?,
            event: text(args.get(2), "the event")?,
            args: args.into_iter().skip(3).collect(),
            nsp,
        }),
        "join" | "leave" => Ok(Command::Room {
            room: text(args.get(1), "the room")?,
            join: name == "join",
            target: target(args.get(2))?,
            nsp,
        }),
        "_disconnect" => Ok(Command::Disconnect {
            target: target(args.get(2))?,
            nsp,
        }),
        _ => Err(bad("unknown command")),
    }
}

/// Listens for the commands on an admin socket; read-only, it refuses them all.
pub fn register<A: Adapter>(s: &SocketRef<A>, admin: &Admin, io: &SocketIo<A>) {
    for name in EVENTS {
        let (admin, io) = (admin.clone(), io.clone());
        s.on(
            name,
            move |TryData(args): TryData<Args<Value>>, ack: AckSender<A>| {
                let (admin, io) = (admin.clone(), io.clone());
                async move {
                    let done = if admin.readonly {
                        Err(ErrorBody::new(
                            ErrorCode::Forbidden,
                            "the Admin UI is read-only (--admin-readonly)",
                        ))
                    } else {
                        match args {
                            Ok(Args(args)) => match parse(name, args) {
                                Ok(cmd) => run(&admin, &io, cmd).await,
                                Err(e) => Err(e),
                            },
                            Err(_) => Err(bad("the arguments are not a list")),
                        }
                    };
                    if let Err(e) = &done {
                        tracing::debug!(command = name, error = %e, "admin command refused");
                    } else {
                        tracing::info!(command = name, "admin command");
                    }
                    ack.send(&Reply::from(done.map(|()| Empty {}))).ok();
                }
            },
        );
    }
}

/// Carries out a command.
async fn run<A: Adapter>(admin: &Admin, io: &SocketIo<A>, cmd: Command) -> Result<(), ErrorBody> {
    let nsp = match &cmd {
        Command::Emit { nsp, .. } | Command::Room { nsp, .. } | Command::Disconnect { nsp, .. } => {
            nsp.clone()
        }
    };
    let Some(ns) = io.of(&nsp) else {
        return Err(ErrorBody::new(ErrorCode::NotFound, "no such namespace"));
    };
    let failed = |e: &dyn std::fmt::Display| {
        tracing::warn!(cause = %e, "admin command failed");
        ErrorBody::new(ErrorCode::Internal, "the command failed")
    };
    match cmd {
        Command::Emit {
            target,
            event,
            args,
            ..
        } => {
            let args = Args(args);
            match target {
                Target::Socket(sid) => match ns.get_socket(sid) {
                    Some(s) => s.emit(&event, &args).map_err(|e| failed(&e)),
                    None => remote(ns, sid)
                        .await?
                        .emit(&event, &args)
                        .await
                        .map_err(|e| failed(&e)),
                },
                Target::Room(room) => ns
                    .to(room)
                    .emit(&event, &args)
                    .await
                    .map_err(|e| failed(&e)),
                Target::All => ns.emit(&event, &args).await.map_err(|e| failed(&e)),
            }
        }
        Command::Room {
            room, join, target, ..
        } => {
            let local = match &target {
                Target::Socket(sid) => ns.get_socket(*sid).into_iter().collect(),
                Target::Room(r) => ns.clone().to(r.clone()).sockets(),
                Target::All => ns.clone().sockets(),
            };
            match target {
                Target::Socket(sid) if local.is_empty() => {
                    let s = remote(ns, sid).await?;
                    if join {
                        s.join(room.clone()).await
                    } else {
                        s.leave(room.clone()).await
                    }
                    .map_err(|e| failed(&e))?;
                }
                Target::Socket(_) => {
                    for s in &local {
                        if join {
                            s.join(room.clone())
                        } else {
                            s.leave(room.clone())
                        }
                    }
                }
                Target::Room(r) => {
                    let ops = ns.to(r);
                    if join {
                        ops.join(room.clone()).await
                    } else {
                        ops.leave(room.clone()).await
                    }
                    .map_err(|e| failed(&e))?;
                }
                Target::All => {
                    if join {
                        ns.join(room.clone()).await
                    } else {
                        ns.leave(room.clone()).await
                    }
                    .map_err(|e| failed(&e))?;
                }
            }
            for s in local {
                admin.told_room(io, &nsp, s.id, &room, join).await;
            }
            Ok(())
        }
        Command::Disconnect { target, .. } => match target {
            Target::Socket(sid) => match ns.get_socket(sid) {
                Some(s) => s.disconnect().map_err(|e| failed(&e)),
                None => remote(ns, sid)
                    .await?
                    .disconnect()
                    .await
                    .map_err(|e| failed(&e)),
            },
            Target::Room(room) => ns.to(room).disconnect().await.map_err(|e| failed(&e)),
            Target::All => ns.disconnect().await.map_err(|e| failed(&e)),
        },
    }
}

/// A socket of another node, found through the adapter.
async fn remote<A: Adapter>(
    ns: BroadcastOperators<A>,
    sid: Sid,
) -> Result<socketioxide::socket::RemoteSocket<A>, ErrorBody> {
    let sockets = ns.fetch_sockets().await.map_err(|e| {
        tracing::warn!(cause = %e, "admin command: cannot ask the other nodes");
        ErrorBody::new(ErrorCode::Internal, "cannot reach the other nodes")
    })?;
    sockets
        .into_iter()
        .find(|s| s.data().id == sid)
        .ok_or_else(|| ErrorBody::new(ErrorCode::NotFound, "no such socket"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Vec<Value> {
        match v {
            Value::Array(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn commands_read_as_the_ui_sends_them() {
        let sid = Sid::new();
        assert_eq!(
            parse("_disconnect", args(json!(["/", false, sid.to_string()]))).expect("ok"),
            Command::Disconnect {
                nsp: "/".into(),
                target: Target::Socket(sid)
            }
        );
        assert_eq!(
            parse("leave", args(json!(["/", "r:general"]))).expect("ok"),
            Command::Room {
                nsp: "/".into(),
                room: "r:general".into(),
                join: false,
                target: Target::All
            }
        );
        assert_eq!(
            parse("emit", args(json!(["/", "u:ann", "notice", 1, { "a": 2 }]))).expect("ok"),
            Command::Emit {
                nsp: "/".into(),
                target: Target::Room("u:ann".into()),
                event: "notice".into(),
                args: vec![json!(1), json!({ "a": 2 })]
            }
        );
    }

    #[test]
    fn malformed_commands_are_refused() {
        for (name, a) in [
            ("emit", json!([])),
            ("emit", json!(["/", null])),
            ("join", json!(["/", 3])),
            ("join", json!(["/", "r", { "x": 1 }])),
            ("_disconnect", json!([null, true])),
            ("nope", json!(["/"])),
        ] {
            let e = parse(name, args(a.clone())).expect_err("refused");
            assert_eq!(e.code, ErrorCode::BadRequest, "{name} {a}");
        }
    }
}
