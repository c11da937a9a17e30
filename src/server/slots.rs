//! Test slots and the bounded FIFO queue in front of them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

#[derive(Debug)]
struct State {
    running: usize,
    max_running: usize,
    waiting: VecDeque<u64>,
    max_waiting: usize,
    next_id: u64,
}

/// Shared slot accounting: at most `max_running` tests, then at most `max_waiting` in line.
#[derive(Debug)]
pub struct Slots {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

/// The queue is full.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueFull(pub usize);

impl Slots {
    pub fn new(max_running: usize, max_waiting: usize) -> Arc<Self> {
        Arc::new(Slots {
            state: Mutex::new(State {
                running: 0,
                max_running: max_running.max(1),
                waiting: VecDeque::new(),
                max_waiting,
                next_id: 0,
            }),
            changed: watch::channel(0).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|g| *g += 1);
    }

    /// Joins the end of the line.
    pub fn enqueue(self: &Arc<Self>) -> Result<Ticket, QueueFull> {
        let mut st = self.lock();
        let would_wait = st.running >= st.max_running || !st.waiting.is_empty();
        if would_wait && st.waiting.len() >= st.max_waiting {
            return Err(QueueFull(st.max_waiting));
        }
        let id = st.next_id;
        st.next_id += 1;
        st.waiting.push_back(id);
        drop(st);
        Ok(Ticket {
            slots: self.clone(),
            id,
            rx: self.changed.subscribe(),
            left: false,
        })
    }

    /// A slot now, in one step, if one is free and nobody waits in line; never joins the line.
    pub fn try_take(self: &Arc<Self>) -> Option<Permit> {
        let mut st = self.lock();
        if st.running >= st.max_running || !st.waiting.is_empty() {
            return None;
        }
        st.running += 1;
        drop(st);
        self.bump();
        Some(Permit { slots: self.clone() })
    }

    /// Runs `f` with the state locked (the panic probe poisons the lock this way).
    #[cfg(feature = "panic-probe")]
    pub(crate) fn hold<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.lock();
        f()
    }

    /// Tests running now.
    pub fn running(&self) -> usize {
        self.lock().running
    }
}

/// A place in line. Dropping it leaves the line.
#[derive(Debug)]
pub struct Ticket {
    slots: Arc<Slots>,
    id: u64,
    rx: watch::Receiver<u64>,
    left: bool,
}

/// A running test's slot. Dropping it frees the slot.
#[derive(Debug)]
pub struct Permit {
    slots: Arc<Slots>,
}

impl Ticket {
    /// Takes the slot if it is our turn; otherwise returns our 1-based position.
    pub fn try_start(&mut self) -> Result<Permit, u32> {
        let mut st = self.slots.lock();
        let idx = st
            .waiting
            .iter()
            .position(|&x| x == self.id)
            .expect("ticket is in line");
        if idx == 0 && st.running < st.max_running {
            st.waiting.pop_front();
            st.running += 1;
            drop(st);
            self.left = true;
            self.slots.bump();
            return Ok(Permit {
                slots: self.slots.clone(),
            });
        }
        Err(idx as u32 + 1)
    }

    /// Waits until the queue or the running set changes.
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.left {
            let mut st = self.slots.lock();
            st.waiting.retain(|&x| x != self.id);
            drop(st);
            self.slots.bump();
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut st = self.slots.lock();
        st.running -= 1;
        drop(st);
        self.slots.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_in_first_out_with_positions() {
        let slots = Slots::new(1, 4);
        let mut a = slots.enqueue().unwrap();
        let mut b = slots.enqueue().unwrap();
        let mut c = slots.enqueue().unwrap();
        let pa = a.try_start().unwrap();
        assert_eq!(b.try_start().unwrap_err(), 1);
        assert_eq!(c.try_start().unwrap_err(), 2);
        drop(b);
        assert_eq!(c.try_start().unwrap_err(), 1);
        drop(pa);
        let _pc = c.try_start().unwrap();
        assert_eq!(slots.running(), 1);
    }

    #[test]
    fn queue_is_bounded() {
        let slots = Slots::new(1, 1);
        let mut a = slots.enqueue().unwrap();
        let _pa = a.try_start().unwrap();
        let _b = slots.enqueue().unwrap();
        assert_eq!(slots.enqueue().unwrap_err(), QueueFull(1));
    }

    #[test]
    fn concurrent_slots() {
        let slots = Slots::new(2, 4);
        let mut a = slots.enqueue().unwrap();
        let mut b = slots.enqueue().unwrap();
        let _pa = a.try_start().unwrap();
        let _pb = b.try_start().unwrap();
        assert_eq!(slots.running(), 2);
    }

    #[test]
    fn try_take_is_not_refused_by_another_try_in_flight() {
        // Two tickets enqueued at once used to make the second see "position 2" with slots free.
        let slots = Slots::new(2, 4);
        let a = slots.try_take().unwrap();
        let b = slots.try_take().unwrap();
        assert!(slots.try_take().is_none(), "both slots are taken");
        drop(a);
        let mut w = slots.enqueue().unwrap();
        let _pb = b;
        assert!(slots.try_take().is_none(), "a client waits in line: no jumping ahead");
        let _pw = w.try_start().unwrap();
    }

    #[tokio::test]
    async fn waiting_ticket_wakes_when_slot_frees() {
        let slots = Slots::new(1, 4);
        let mut a = slots.enqueue().unwrap();
        let pa = a.try_start().unwrap();
        let mut b = slots.enqueue().unwrap();
        assert_eq!(b.try_start().unwrap_err(), 1);
        let waiter = tokio::spawn(async move {
            b.changed().await;
            b.try_start().is_ok()
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        drop(pa);
        let started = tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(started);
    }
}
