use eventful_core::{BoxError, Projection, RecordedEvent, async_trait, register};

#[derive(eventful_core::Event, serde::Serialize, serde::Deserialize, Debug)]
struct GameCompletedEvent {
    score: u64,
}

struct HighScore(u64);

#[register]
#[async_trait]
impl Projection for HighScore {
    type Event = GameCompletedEvent;
    fn name(&self) -> &str {
        "high_score"
    }
    async fn apply(&self, _: &RecordedEvent<GameCompletedEvent>) -> Result<(), BoxError> {
        Ok(())
    }
    async fn reset(&self) -> Result<(), BoxError> {
        Ok(())
    }
}

fn main() {}
