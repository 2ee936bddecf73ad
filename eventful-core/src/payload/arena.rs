//! The per-thread arena payloads are encoded into: encoding writes at its end and hands out a
//! reference-counted slice of it, so that making a payload costs no allocation of its own and a
//! store keeps the bytes without copying them.

use std::cell::RefCell;

use bytes::BytesMut;

use super::held::Held;

/// Bytes reserved in the encoding arena at a time.
const ARENA_CHUNK: usize = 64 * 1024;
/// Below this much room left, the arena starts a fresh chunk before encoding.
const ARENA_LOW_WATER: usize = 1024;

thread_local! {
    static ARENA: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// Runs `write` against this thread's arena and holds what it wrote: in line when it is few
/// bytes (the arena's room is then used again), else a shared slice of the arena. What a
/// failed `write` wrote is dropped with it.
pub(super) fn write_with<E>(write: impl FnOnce(&mut BytesMut) -> Result<(), E>) -> Result<Held, E> {
    ARENA.with(|arena| match arena.try_borrow_mut() {
        Ok(mut buffer) => {
            if buffer.capacity() - buffer.len() < ARENA_LOW_WATER {
                buffer.reserve(ARENA_CHUNK);
            }
            let result = write(&mut buffer);
            if result.is_ok()
                && let Some(held) = Held::inline(&buffer)
            {
                buffer.clear();
                return Ok(held);
            }
            let written = buffer.split();
            result.map(|()| Held::from(written.freeze()))
        }
        // A `Serialize` impl that itself encodes a payload: give it a buffer of its own.
        Err(_) => {
            let mut buffer = BytesMut::new();
            write(&mut buffer).map(|()| Held::from(buffer.freeze()))
        }
    })
}
