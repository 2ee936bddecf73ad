use eventful_core::{BoxError, Projection, RecordedEvent, async_trait, register};

#[derive(eventful_core::Event, serde::Serialize, serde::Deserialize, Debug)]
struct GameCompletedEvent {
    score: u64,
}

#[derive(Default)]
struct Scores<T>(std::marker::PhantomData<T>);

#[register(builder = Scores::new)]
#[async_trait]
impl<T: Send + Sync + 'static> Projection for Scores<T> {
    type Event = GameCompletedEvent;
    fn name(&self) -> &str {
        "scores"
    }
    async fn apply(&self, _: &RecordedEvent<GameCompletedEvent>) -> Result<(), BoxError> {
        Ok(())
    }
    async fn reset(&self) -> Result<(), BoxError> {
        Ok(())
    }
}

struct Leaderboard;

#[register]
impl Leaderboard {
    fn top(&self) {}
}

fn main() {}
