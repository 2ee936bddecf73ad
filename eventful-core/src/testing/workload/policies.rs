//! Policies shared by instances: how fast a policy works through a log when one instance runs
//! it, and when two share it on one store.
//!
//! After the commands run, the log holds two `AchievementUnlocked` events per player. The case
//! starts K buses on the store, as K instances of one service, each running the same policy —
//! `AchievementUnlocked` → a keyed `GainXp { 50 }` for that player — with
//! [`SEGMENTS`] segments and at most `SEGMENTS / K` claims an instance, so that the instances
//! split the work. It times them from their start until every segment has passed the events
//! that were there, reports the log events they went through and the commands they issued per
//! second, and checks that each achievement was rewarded exactly once.

use std::collections::HashSet;
use std::fmt::{self, Display, Formatter};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::TryStreamExt;

use super::{WorkloadError, check_count};
use crate::bus::{EventBus, HandlerSettings, OnFailure};
use crate::checkpoint::CheckpointStore;
use crate::envelope::{Position, RecordedEvent};
use crate::policy::{Policy, Reaction};
use crate::repository::Repository;
use crate::store::{EventFilter, EventStore};
use crate::streams::EventStoreExt;
use crate::testing::model::{Player, PlayerAction, PlayerCommand, PlayerEvent};
use crate::upcast::BoxError;

/// Segments the policy is split into, whatever the number of instances.
pub const SEGMENTS: u32 = 4;
/// Xp each achievement is rewarded with.
pub const REWARD: u64 = 50;
/// The policy's name.
const NAME: &str = "achievement_rewards";

/// Rewards each unlocked achievement with xp, once.
struct AchievementRewards<S> {
    players: Repository<Player, S>,
}

#[async_trait]
impl<S: EventStore + Clone + 'static> Policy for AchievementRewards<S> {
    type Event = PlayerEvent;

    fn name(&self) -> &str {
        NAME
    }

    async fn react(
        &self,
        event: &RecordedEvent<PlayerEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        if !matches!(event.payload, PlayerEvent::AchievementUnlocked { .. }) {
            return Ok(());
        }
        let player = event.aggregate_id::<Player>()?;
        let command = PlayerCommand::new(player, PlayerAction::GainXp { amount: REWARD });
        self.players
            .execute_with(command, reaction.command_context())
            .await?;
        Ok(())
    }
}

/// Figures of the policies case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoliciesReport {
    /// Instances sharing the policy.
    pub instances: u32,
    /// Log events the instances went through (each segment's share of the log).
    pub events: u64,
    /// Commands the policy issued: one per achievement.
    pub reactions: u64,
    /// From the buses' start until every segment passed the log as it was.
    pub elapsed: Duration,
}

impl PoliciesReport {
    /// Log events handled per second, all instances together.
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    /// Commands issued per second, all instances together.
    pub fn reactions_per_s(&self) -> f64 {
        self.reactions as f64 / self.elapsed.as_secs_f64()
    }
}

impl Display for PoliciesReport {
    /// `2 instances: 220000 events and 20000 reactions in 0.5 s = … events/s, … reactions/s`
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} instance(s): {} events and {} reactions in {:.3} s = {:.0} events/s, {:.0} reactions/s",
            self.instances,
            self.events,
            self.reactions,
            self.elapsed.as_secs_f64(),
            self.events_per_s(),
            self.reactions_per_s(),
        )
    }
}

/// Runs the policy in `instances` buses on `store`, which holds the commands run's events.
pub async fn run_policies<S>(store: S, instances: u32) -> Result<PoliciesReport, WorkloadError>
where
    S: EventStore + CheckpointStore + Clone + 'static,
{
    let instances = instances.max(1);
    let head = store.head_position().await?;
    let log: Vec<RecordedEvent> = store
        .read_all_events(Position::START, EventFilter::all())
        .try_collect()
        .await?;
    let achievements: HashSet<_> = log
        .iter()
        .filter(|event| event.event_type == "achievement_unlocked")
        .map(|event| event.event_id)
        .collect();
    let started = Instant::now();
    let mut buses = Vec::new();
    for instance in 0..instances {
        let mut bus = EventBus::new(store.clone(), store.clone())
            .with_instance_id(format!("instance-{instance}"));
        bus.policy(AchievementRewards {
            players: Repository::new(store.clone()),
        });
        bus.configure(
            NAME,
            HandlerSettings::durable()
                .with_segments(SEGMENTS)
                .with_max_claims(SEGMENTS.div_ceil(instances))
                .with_on_failure(OnFailure::Stop),
        );
        buses.push(bus.start()?);
    }
    buses[0].wait_until(head).await?;
    let elapsed = started.elapsed();
    for bus in buses {
        bus.shutdown().await;
    }

    // One command per achievement: the distinct causes of what the policy recorded.
    let rewarded: HashSet<_> = store
        .read_all_events(head.next(), EventFilter::all())
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .filter_map(|event| event.metadata.causation_id)
        .filter(|cause| achievements.contains(cause))
        .collect();
    check_count(
        "achievements rewarded",
        achievements.len() as u64,
        rewarded.len() as u64,
    )?;
    Ok(PoliciesReport {
        instances,
        events: log.len() as u64,
        reactions: achievements.len() as u64,
        elapsed,
    })
}
