//! A view of the log older than the server's, for tests: reads named by their operation
//! leave out the documents at or above a position, a given number of times, as a new
//! primary's majority view does just after an election.

use mongodb::bson::RawDocumentBuf;
use parking_lot::Mutex;

use crate::schema::field;
use crate::stored::read_u64;

/// Reads to serve from an older view.
#[derive(Debug, Default)]
pub(crate) struct StaleView {
    rules: Mutex<Vec<Rule>>,
}

#[derive(Debug)]
struct Rule {
    operation: &'static str,
    /// Documents whose `_id` is at least this (or is not a position) are left out.
    hidden_from: u64,
    reads: u32,
}

impl StaleView {
    /// The next `reads` reads named `operation` leave out the documents from position
    /// `hidden_from` on, and every document whose `_id` is not a position.
    pub(crate) fn hide(&self, operation: &'static str, hidden_from: u64, reads: u32) {
        self.rules.lock().push(Rule {
            operation,
            hidden_from,
            reads,
        });
    }

    /// Whether every rule has served its reads.
    pub(crate) fn used_up(&self) -> bool {
        self.rules.lock().iter().all(|rule| rule.reads == 0)
    }

    /// The view is the server's again.
    pub(crate) fn clear(&self) {
        self.rules.lock().clear();
    }

    /// `documents` as the view serves them to `operation`.
    pub(crate) fn apply(
        &self,
        operation: &'static str,
        documents: Vec<RawDocumentBuf>,
    ) -> Vec<RawDocumentBuf> {
        let mut rules = self.rules.lock();
        let Some(rule) = rules
            .iter_mut()
            .find(|rule| rule.operation == operation && rule.reads > 0)
        else {
            return documents;
        };
        rule.reads -= 1;
        let hidden_from = rule.hidden_from;
        documents
            .into_iter()
            .filter(|document| {
                read_u64(document, field::ID).is_ok_and(|position| position < hidden_from)
            })
            .collect()
    }
}
