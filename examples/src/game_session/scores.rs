//! Final scores and the placements they give.

use serde::{Deserialize, Serialize};

use crate::ids::PlayerId;

/// One player's final score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerScore {
    /// Who.
    pub player_id: PlayerId,
    /// The score.
    pub score: u64,
}

/// A final score with its rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Who.
    pub player_id: PlayerId,
    /// The score.
    pub score: u64,
    /// The rank, from 1: one more than the number of higher scores, so ties share a rank.
    pub placement: u32,
}

/// The placements of `scores`, best first (ties in player order).
///
/// ```
/// use eventful_examples::game_session::{PlayerScore, placements};
/// use eventful_examples::ids::PlayerId;
///
/// let scores = [(1, 300), (2, 900), (3, 300)].map(|(id, score)| PlayerScore { player_id: PlayerId(id), score });
/// let ranks: Vec<_> = placements(&scores).iter().map(|p| (p.player_id.0, p.placement)).collect();
/// assert_eq!(ranks, [(2, 1), (1, 2), (3, 2)]);
/// ```
pub fn placements(scores: &[PlayerScore]) -> Vec<Placement> {
    let mut ranked: Vec<_> = scores
        .iter()
        .map(|score| Placement {
            player_id: score.player_id,
            score: score.score,
            placement: 1 + scores
                .iter()
                .filter(|other| other.score > score.score)
                .count() as u32,
        })
        .collect();
    ranked.sort_by_key(|placement| (placement.placement, placement.player_id));
    ranked
}
