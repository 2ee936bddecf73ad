//! Keyed commands on a long stream: what a command with an idempotency key costs as its
//! aggregate's stream grows.
//!
//! A policy sends each command with a key ([`CommandContext::with_idempotency_key`]), so that
//! a redelivered event does not apply it twice; the repository first asks the store whether
//! the stream already holds the command's events ([`EventStore::find_event`]). A store that
//! answers by scanning the stream makes every keyed command cost as much as the stream is
//! long. The case times `--keyed-commands` such commands (10,000 by default), each with a fresh
//! key, on a player whose stream holds [`SHORT_STREAM_EVENTS`] events, then on one whose
//! stream holds `--long-stream-events` (a million by default), and reports the cost of one
//! command on each and the ratio: a store that finds events by id in constant time keeps it
//! near 1.
//!
//! The long stream is written straight to the store, [`APPEND_BATCH`] events an append, with
//! the events the player's own rules record for one xp a command; the first command on each
//! stream loads the player and is not timed, so the figure is a command on a cached aggregate,
//! as a policy's commands on a busy player are.

use std::fmt::{self, Display, Formatter};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::{WorkloadError, check_count};
use crate::aggregate::Aggregate;
use crate::envelope::{ExpectedVersion, NewEvent, Version};
use crate::event::Event;
use crate::repository::{CommandContext, LoadError, Repository};
use crate::store::EventStore;
use crate::testing::model::{Player, PlayerAction, PlayerCommand, PlayerEvent};

/// Events in the short stream, the baseline.
pub const SHORT_STREAM_EVENTS: u64 = 100;
/// Events per append while the streams are written.
pub const APPEND_BATCH: usize = 10_000;

/// The timed keyed commands on one stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyedTiming {
    /// Events the stream held before the timed commands.
    pub stream_events: u64,
    /// Keyed commands timed.
    pub commands: u64,
    /// Their wall time, one after another.
    pub elapsed: Duration,
}

impl KeyedTiming {
    /// Microseconds per command.
    pub fn micros_per_command(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.commands as f64
    }
}

/// Figures of the keyed case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyedReport {
    /// On the stream of [`SHORT_STREAM_EVENTS`] events.
    pub short: KeyedTiming,
    /// On the long stream.
    pub long: KeyedTiming,
}

impl KeyedReport {
    /// How many times a command on the long stream costs one on the short stream.
    pub fn ratio(&self) -> f64 {
        self.long.micros_per_command() / self.short.micros_per_command()
    }
}

impl Display for KeyedTiming {
    /// `100 on a stream of 1000000 events: 2345.6 µs/command`
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on a stream of {} events: {:.1} µs/command",
            self.commands,
            self.stream_events,
            self.micros_per_command(),
        )
    }
}

impl Display for KeyedReport {
    /// `100 on a stream of 100 events: … µs/command; 100 on a stream of 1000000 events: … (…x)`
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {} ({:.1}x)", self.short, self.long, self.ratio())
    }
}

/// Times `commands` keyed commands on a player with [`SHORT_STREAM_EVENTS`] events and on
/// one with `long_stream_events`, both on `store`. Both streams are written before either is
/// timed, so that both are timed on a store of the same size: the figure compares stream
/// lengths, not the caches of a small store and a large one.
pub async fn run_keyed<S>(
    store: S,
    long_stream_events: u64,
    commands: u64,
) -> Result<KeyedReport, WorkloadError>
where
    S: EventStore + Clone + 'static,
{
    let (short_id, long_id) = (u64::MAX - 1, u64::MAX - 2);
    write_life(&store, long_id, long_stream_events).await?;
    write_life(&store, short_id, SHORT_STREAM_EVENTS).await?;
    let short = time_keyed_commands(&store, short_id, SHORT_STREAM_EVENTS, commands).await?;
    let long = time_keyed_commands(&store, long_id, long_stream_events, commands).await?;
    Ok(KeyedReport { short, long })
}

/// Writes the first `stream_events` events of player `id`'s life straight to the store.
async fn write_life<S: EventStore>(
    store: &S,
    id: u64,
    stream_events: u64,
) -> Result<(), WorkloadError> {
    let stream_id = Player::stream_id(&id).map_err(LoadError::from)?;
    let mut version = Version::NONE;
    let mut batch = Vec::with_capacity(APPEND_BATCH);
    let limit = usize::try_from(stream_events).unwrap_or(usize::MAX);
    for event in one_xp_at_a_time(id).take(limit) {
        batch.push(new_event(&event)?);
        if batch.len() == APPEND_BATCH {
            let events = std::mem::replace(&mut batch, Vec::with_capacity(APPEND_BATCH));
            version = store
                .append(&stream_id, ExpectedVersion::Exact(version), &events)
                .await?
                .last_version;
        }
    }
    if !batch.is_empty() {
        version = store
            .append(&stream_id, ExpectedVersion::Exact(version), &batch)
            .await?
            .last_version;
    }
    check_count("events written", stream_events, version.get())
}

async fn time_keyed_commands<S>(
    store: &S,
    id: u64,
    stream_events: u64,
    commands: u64,
) -> Result<KeyedTiming, WorkloadError>
where
    S: EventStore + Clone + 'static,
{
    let stream_id = Player::stream_id(&id).map_err(LoadError::from)?;
    let repository = Repository::<Player, _>::new(store.clone());
    let mut appended = keyed_command(&repository, id).await?;
    let started = Instant::now();
    for _ in 0..commands {
        appended += keyed_command(&repository, id).await?;
    }
    let elapsed = started.elapsed();
    let stored = store.stream_version(&stream_id).await?.get();
    check_count(
        "events after the keyed commands",
        stream_events + appended,
        stored,
    )?;
    Ok(KeyedTiming {
        stream_events,
        commands,
        elapsed,
    })
}

/// One xp for player `id` under a fresh idempotency key, as a policy sends it; the events it
/// appended.
async fn keyed_command<S: EventStore>(
    repository: &Repository<Player, S>,
    id: u64,
) -> Result<u64, WorkloadError> {
    let context = CommandContext::default().with_idempotency_key(Uuid::new_v4());
    let command = PlayerCommand::new(id, PlayerAction::GainXp { amount: 1 });
    let committed = repository.execute_with(command, context).await?;
    check_count(
        "commands applied twice",
        0,
        u64::from(committed.already_applied),
    )?;
    Ok(committed.events.len() as u64)
}

/// The events of player `id`'s life: created, then one xp a command, levelling up every
/// 1000, as its own rules record them.
fn one_xp_at_a_time(id: u64) -> impl Iterator<Item = PlayerEvent> {
    let create = PlayerCommand::new(
        id,
        PlayerAction::CreatePlayer {
            name: format!("Keyed {id}"),
        },
    );
    let gain = move || PlayerCommand::new(id, PlayerAction::GainXp { amount: 1 });
    let mut player = Player::default();
    std::iter::once(create)
        .chain(std::iter::repeat_with(gain))
        .flat_map(move |command| {
            // Never refused: a refusal would end the life short, which the count after
            // writing it catches.
            let events = player.handle(&command).unwrap_or_default();
            for event in &events {
                player.apply(event);
            }
            events
        })
}

fn new_event(event: &PlayerEvent) -> Result<NewEvent, WorkloadError> {
    let event_type = event.event_type();
    Ok(NewEvent::new(
        Player::TYPE,
        event_type.name.clone(),
        event_type.schema_version,
        event.encode()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::model::level_of;

    #[test]
    fn the_long_life_is_what_the_rules_record() {
        let events: Vec<_> = one_xp_at_a_time(1).take(1003).collect();
        assert!(matches!(events[0], PlayerEvent::PlayerCreated { .. }));
        assert_eq!(events[1], PlayerEvent::XpGained { amount: 1 });
        // The thousandth xp crosses the first threshold.
        assert_eq!(
            events[1001],
            PlayerEvent::LeveledUp {
                from: 1,
                to: level_of(1000)
            }
        );
        assert_eq!(events[1002], PlayerEvent::XpGained { amount: 1 });
    }
}
