//! Group sessions registered here (protocol 3): cookie → the member's session, which streams it still expects
//! from which member. A data connection is taken only for a registered cookie, once per (sender, stream), and
//! needs no slot (the member's session holds it). The entry goes when the session ends: no cookie outlives it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::protocol::Cookie;

/// A member's data connection, taken into its group.
#[derive(Debug)]
pub(super) struct Incoming {
    pub from: u32,
    pub stream: u32,
    pub socket: std::net::TcpStream,
}

struct Entry {
    /// `HOST:PORT` of each member, as the join listed them.
    members: Vec<String>,
    /// (sender, stream) pairs not yet connected.
    expected: HashSet<(u32, u32)>,
    tx: mpsc::UnboundedSender<Incoming>,
}

/// The groups this server is a member of now (at most one per slot).
#[derive(Default, Clone)]
pub(super) struct Groups {
    inner: Arc<Mutex<HashMap<Cookie, Entry>>>,
}

/// Removes the cookie when the member's session ends.
pub(super) struct Registration {
    groups: Groups,
    cookie: Cookie,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.groups.lock().remove(&self.cookie);
    }
}

/// A claimed place for one data connection: where to hand the socket.
#[derive(Debug)]
pub(super) struct Claim {
    pub tx: mpsc::UnboundedSender<Incoming>,
}

impl Groups {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Cookie, Entry>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a group; its data connections arrive on the receiver. A cookie already here is refused.
    pub fn register(
        &self,
        cookie: Cookie,
        members: Vec<String>,
        expected: HashSet<(u32, u32)>,
    ) -> Result<(Registration, mpsc::UnboundedReceiver<Incoming>), String> {
        let mut map = self.lock();
        if map.contains_key(&cookie) {
            return Err("this group cookie is already registered here; a group joins each member once".into());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        map.insert(cookie, Entry { members, expected, tx });
        let reg = Registration {
            groups: self.clone(),
            cookie,
        };
        Ok((reg, rx))
    }

    /// Takes the place of stream `stream` from member `from`, once; refused for an unknown cookie, a sender or
    /// stream the group does not send here, or one already connected.
    pub fn claim(&self, cookie: &Cookie, from: u32, stream: u32) -> Result<Claim, String> {
        let mut map = self.lock();
        let Some(entry) = map.get_mut(cookie) else {
            return Err("no group with this cookie here (it never joined, or it ended)".into());
        };
        if !entry.expected.remove(&(from, stream)) {
            return Err(format!(
                "the group expects no (more) stream {stream} from member {from} here"
            ));
        }
        Ok(Claim { tx: entry.tx.clone() })
    }

    /// The `HOST:PORT` of member `from` of a registered group.
    pub fn member(&self, cookie: &Cookie, from: u32) -> Result<String, String> {
        let map = self.lock();
        let entry = map
            .get(cookie)
            .ok_or("no group with this cookie here (it never joined, or it ended)")?;
        entry
            .members
            .get(from as usize)
            .cloned()
            .ok_or_else(|| format!("member {from} is not among the group's {}", entry.members.len()))
    }

    /// Groups registered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_takes_each_expected_stream_once_and_goes_with_its_session() {
        let groups = Groups::default();
        let c = Cookie([1; 16]);
        let expected = HashSet::from([(1, 1), (1, 2)]);
        let (reg, _rx) = groups.register(c, vec!["a:1".into(), "b:1".into()], expected).unwrap();
        assert!(
            groups.register(c, vec![], HashSet::new()).is_err(),
            "a cookie is registered once"
        );
        assert_eq!(groups.member(&c, 1).unwrap(), "b:1");
        assert!(groups.member(&c, 2).is_err());
        assert!(groups.claim(&c, 1, 1).is_ok());
        assert!(groups.claim(&c, 1, 1).is_err(), "a stream connects once");
        assert!(groups.claim(&c, 0, 1).is_err(), "member 0 sends nothing here");
        assert!(groups.claim(&Cookie([2; 16]), 1, 2).unwrap_err().contains("no group"));
        drop(reg);
        assert_eq!(groups.len(), 0);
        assert!(groups.claim(&c, 1, 2).is_err(), "an ended group's cookie is gone");
    }
}
