//! The story of a run: every event in the log, grouped into chapters by correlation id (one
//! chapter per request and everything it caused), each in store order, with its stream,
//! version, position, id, correlation id and causation id.

mod describe;

use std::collections::HashMap;
use std::fmt::{self, Display};

use eventful_core::{
    EventFilter, EventStoreExt, Position, StoreError, StreamId, TypeName, Uuid, Version,
};
use futures::TryStreamExt;

pub(crate) use self::describe::describe;

/// One event, as the story tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryLine {
    /// Its position in the store.
    pub position: Position,
    /// Its stream.
    pub stream_id: StreamId,
    /// Its version in the stream.
    pub version: Version,
    /// Its stored type.
    pub event_type: TypeName,
    /// Its id.
    pub event_id: Uuid,
    /// The request it belongs to.
    pub correlation_id: Option<Uuid>,
    /// What caused it.
    pub causation_id: Option<Uuid>,
    /// What it says, in a few words.
    pub summary: String,
}

/// The events of one correlation id, in store order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chapter {
    /// The correlation id they share (none for events recorded without one).
    pub correlation_id: Option<Uuid>,
    /// The events.
    pub lines: Vec<StoryLine>,
}

/// Every event of a store, told by chapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Story {
    /// The chapters, in the order of their first event.
    pub chapters: Vec<Chapter>,
    positions: HashMap<Uuid, Position>,
}

impl Story {
    /// Reads the whole log of `store`.
    pub async fn read<S: EventStoreExt>(store: &S) -> Result<Self, StoreError> {
        let mut story = Self::default();
        let mut chapter_of = HashMap::new();
        let mut events = store.read_all_events(Position::START, EventFilter::all());
        while let Some(event) = events.try_next().await? {
            let correlation_id = event.metadata.correlation_id;
            let line = StoryLine {
                position: event.position,
                stream_id: event.stream_id.clone(),
                version: event.version,
                event_type: event.event_type.clone(),
                event_id: event.event_id,
                correlation_id,
                causation_id: event.metadata.causation_id,
                summary: describe(&event),
            };
            story.positions.insert(line.event_id, line.position);
            // Events without a correlation id each make a chapter of their own.
            let key = correlation_id.unwrap_or(line.event_id);
            let index = *chapter_of.entry(key).or_insert_with(|| {
                story.chapters.push(Chapter {
                    correlation_id,
                    lines: Vec::new(),
                });
                story.chapters.len() - 1
            });
            story.chapters[index].lines.push(line);
        }
        Ok(story)
    }

    /// Every event, in store order.
    pub fn lines(&self) -> impl Iterator<Item = &StoryLine> {
        let mut lines: Vec<_> = self.chapters.iter().flat_map(|c| &c.lines).collect();
        lines.sort_by_key(|line| line.position);
        lines.into_iter()
    }

    /// The story with at most `chapters` chapters told, and a count of the rest.
    pub fn told(&self, chapters: usize) -> impl Display + '_ {
        Told {
            story: self,
            chapters,
        }
    }
}

impl Display for Story {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.told(usize::MAX).fmt(f)
    }
}

struct Told<'a> {
    story: &'a Story,
    chapters: usize,
}

impl Display for Told<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let story = self.story;
        let events: usize = story.chapters.iter().map(|c| c.lines.len()).sum();
        writeln!(
            f,
            "{events} events in {} chapters: a chapter per correlation id, its events in store \
             order.",
            story.chapters.len()
        )?;
        writeln!(
            f,
            "#12 is the position in the store, v3 the version in the stream; ids show their \
             last 8 hex digits, and a causation id the position of the event it names."
        )?;
        for (number, chapter) in story.chapters.iter().take(self.chapters).enumerate() {
            writeln!(f)?;
            let correlation = chapter.correlation_id.map_or("none".to_owned(), short);
            let opening = chapter.lines.first().map_or(String::new(), |line| {
                format!(", opened by {}", line.event_type)
            });
            writeln!(
                f,
                "Chapter {} · correlation {correlation}{opening}",
                number + 1
            )?;
            for line in &chapter.lines {
                writeln!(
                    f,
                    "  #{} {} v{} {} — {}",
                    line.position, line.stream_id, line.version, line.event_type, line.summary
                )?;
                write!(
                    f,
                    "      id {} · correlation {} · causation ",
                    short(line.event_id),
                    line.correlation_id.map_or("none".to_owned(), short)
                )?;
                match line.causation_id {
                    None => writeln!(f, "none")?,
                    Some(cause) => match story.positions.get(&cause) {
                        Some(position) => writeln!(f, "{} (#{position})", short(cause))?,
                        None => writeln!(f, "{}", short(cause))?,
                    },
                }
            }
        }
        let untold = story.chapters.len().saturating_sub(self.chapters);
        if untold > 0 {
            writeln!(f)?;
            writeln!(
                f,
                "… and {untold} more chapters (run with fewer matches to read them all)."
            )?;
        }
        Ok(())
    }
}

/// The last 8 hex digits of an id: the random part of a time-ordered (v7) id, enough to tell
/// the ids of one story apart.
fn short(id: Uuid) -> String {
    let hex = id.simple().to_string();
    format!("…{}", &hex[hex.len() - 8..])
}

/// `1, 2, 3`.
pub(crate) fn list<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
