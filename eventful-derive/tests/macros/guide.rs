//! `docs/writing-an-aggregate.md` shows its program in pieces (```rust,ignore) and whole at
//! the end (```rust,test_harness, compiled and run as a doc test of this crate): every piece
//! must be a verbatim part of the whole, so the guide cannot drift from what is tested.

const GUIDE: &str = include_str!("../../../docs/writing-an-aggregate.md");

fn blocks(info: &str) -> Vec<&'static str> {
    let fence = format!("```{info}\n");
    GUIDE
        .split(fence.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once("\n```").map(|(block, _)| block))
        .collect()
}

#[test]
fn every_piece_of_the_guide_is_part_of_the_tested_program() {
    let whole = blocks("rust,test_harness");
    assert_eq!(whole.len(), 1, "the guide ends with the whole program");
    let pieces = blocks("rust,ignore");
    assert!(pieces.len() >= 6, "found {} pieces", pieces.len());
    for piece in pieces {
        assert!(
            whole[0].contains(piece),
            "not in the whole program:\n{piece}"
        );
    }
}
