//! One iteration of an op on a rank, over blocking TCP streams (every byte through `engine::message`): for the ring, one sender thread and the receiver
//! (this thread), so sending and receiving overlap, pipelined by piece (the sender forwards each piece as soon
//! as the receiver finished it); for all-to-all, a sender and a receiver thread per peer.
//!
//! A piece of the result is locked while it is written to a socket or filled, so the receiver of a later step
//! never overwrites a piece the sender is still sending; the receiver reads into scratch first and locks after,
//! so it never holds a lock while it waits for the network.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, MutexGuard};

use super::layout::{Layout, RecvStep, RingPlan, SendStep};
use super::reduce::reduce;
use crate::engine::message::{self, Sent};
use crate::protocol::Dtype;

/// A rank's buffers for one point: its own data, the result (one lock per piece) and the receiver's scratch.
pub struct Buffers {
    pub send: Vec<u8>,
    pub result: Vec<Mutex<Vec<u8>>>,
    pub scratch: Vec<u8>,
}

pub(super) fn lock(m: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An I/O error as one line naming the peer and the direction.
pub fn describe(e: &io::Error, sending: bool, peer: usize) -> String {
    let way = if sending { "sending to" } else { "receiving from" };
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            format!("{way} member {peer}: no byte moved within the idle timeout")
        }
        io::ErrorKind::UnexpectedEof => format!("{way} member {peer}: it closed the connection"),
        _ => format!("{way} member {peer}: {e}"),
    }
}

/// One ring iteration: sends to `next` (member `to`), receives from `prev` (member `from`).
pub fn ring_iter(
    plan: &RingPlan,
    layout: &Layout,
    bufs: &mut Buffers,
    (next, to): (&TcpStream, usize),
    (prev, from): (&TcpStream, usize),
    dtype: Dtype,
) -> Result<Sent, String> {
    let Buffers { send, result, scratch } = bufs;
    let (send, result) = (&send[..], &result[..]);
    std::thread::scope(|s| {
        let (tx, rx) = channel();
        let sender = s.spawn(move || {
            let r = send_ring(&plan.sends, layout, send, result, next, rx);
            if r.is_err() {
                let _ = prev.shutdown(Shutdown::Both);
            }
            r
        });
        let got = recv_ring(&plan.recvs, layout, send, result, prev, tx, scratch, dtype);
        if got.is_err() {
            let _ = next.shutdown(Shutdown::Both);
        }
        let sent = sender
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the sender thread panicked")));
        match (got, sent) {
            (Err(e), _) => Err(describe(&e, false, from)),
            (Ok(()), Err(e)) => Err(describe(&e, true, to)),
            (Ok(()), Ok(sent)) => Ok(sent),
        }
    })
}

fn send_ring(
    steps: &[SendStep],
    layout: &Layout,
    send: &[u8],
    result: &[Mutex<Vec<u8>>],
    sock: &TcpStream,
    ready: Receiver<()>,
) -> io::Result<Sent> {
    let mut sent = Sent::default();
    for step in steps {
        for p in layout.chunk_pieces[step.chunk].clone() {
            if step.own {
                message::send(sock, &send[layout.pieces[p].clone()], &mut sent)?;
            } else {
                ready.recv().map_err(|_| io::Error::other("the receiver ended"))?;
                message::send(sock, &lock(&result[p]), &mut sent)?;
            }
        }
    }
    Ok(sent)
}

#[allow(clippy::too_many_arguments)]
fn recv_ring(
    steps: &[RecvStep],
    layout: &Layout,
    send: &[u8],
    result: &[Mutex<Vec<u8>>],
    sock: &TcpStream,
    ready: Sender<()>,
    scratch: &mut [u8],
    dtype: Dtype,
) -> io::Result<()> {
    for step in steps {
        for p in layout.chunk_pieces[step.chunk].clone() {
            let range = layout.pieces[p].clone();
            let got = &mut scratch[..range.len()];
            message::recv(sock, got)?;
            let mut piece = lock(&result[p]);
            if step.reduce {
                reduce(&mut piece, &send[range], got, dtype);
            } else {
                piece.copy_from_slice(got);
            }
            drop(piece);
            if step.notify {
                let _ = ready.send(());
            }
        }
    }
    Ok(())
}

/// One all-to-all iteration: block j of the send buffer to member j, member j's block into result block j, all
/// peers at once. `out`/`inc`: (member, stream).
pub fn alltoall_iter(
    layout: &Layout,
    bufs: &Buffers,
    out: &[(usize, &TcpStream)],
    inc: &[(usize, &TcpStream)],
) -> Result<Vec<(usize, Sent)>, String> {
    let (send, result) = (&bufs.send[..], &bufs.result[..]);
    std::thread::scope(|s| {
        let senders: Vec<_> = out
            .iter()
            .map(|&(to, sock)| {
                let h = s.spawn(move || {
                    let mut sent = Sent::default();
                    for p in layout.chunk_pieces[to].clone() {
                        if let Err(e) = message::send(sock, &send[layout.pieces[p].clone()], &mut sent) {
                            shut_all(out, inc);
                            return Err(e);
                        }
                    }
                    Ok(sent)
                });
                (to, h)
            })
            .collect();
        let receivers: Vec<_> = inc
            .iter()
            .map(|&(from, sock)| {
                let h = s.spawn(move || {
                    for p in layout.chunk_pieces[from].clone() {
                        if let Err(e) = message::recv(sock, &mut lock(&result[p])) {
                            shut_all(out, inc);
                            return Err(e);
                        }
                    }
                    Ok(())
                });
                (from, h)
            })
            .collect();
        let mut first_error = None;
        let mut sent = Vec::new();
        for (from, h) in receivers {
            if let Err(e) = h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a receiver panicked")))
            {
                first_error.get_or_insert_with(|| describe(&e, false, from));
            }
        }
        for (to, h) in senders {
            match h.join().unwrap_or_else(|_| Err(io::Error::other("a sender panicked"))) {
                Ok(s) => sent.push((to, s)),
                Err(e) => {
                    first_error.get_or_insert_with(|| describe(&e, true, to));
                }
            }
        }
        first_error.map_or(Ok(sent), Err)
    })
}

fn shut_all(out: &[(usize, &TcpStream)], inc: &[(usize, &TcpStream)]) {
    for (_, s) in out.iter().chain(inc) {
        let _ = s.shutdown(Shutdown::Both);
    }
}
