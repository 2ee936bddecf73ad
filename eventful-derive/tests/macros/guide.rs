//! The guides in `docs/` show their program in pieces (```rust,ignore) and whole at the end
//! (```rust,test_harness, compiled and run as a doc test of this crate): every piece must be
//! a verbatim part of the whole, so a guide cannot drift from what is tested.

/// The blocks of `guide` fenced as ```` ```{info} ````.
fn blocks<'a>(guide: &'a str, info: &str) -> Vec<&'a str> {
    let fence = format!("```{info}\n");
    guide
        .split(fence.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once("\n```").map(|(block, _)| block))
        .collect()
}

/// Checks that guide `name` ends with one whole program, and shows at least `least` pieces,
/// each a verbatim part of it.
#[track_caller]
fn check_guide(name: &str, guide: &str, least: usize) {
    let whole = blocks(guide, "rust,test_harness");
    assert_eq!(whole.len(), 1, "{name} ends with the whole program");
    let pieces = blocks(guide, "rust,ignore");
    assert!(
        pieces.len() >= least,
        "{name}: found {} pieces",
        pieces.len()
    );
    for piece in pieces {
        assert!(
            whole[0].contains(piece),
            "{name}: not in the whole program:\n{piece}"
        );
    }
}

#[test]
fn every_piece_of_writing_an_aggregate_is_part_of_the_tested_program() {
    check_guide(
        "writing-an-aggregate.md",
        include_str!("../../../docs/writing-an-aggregate.md"),
        6,
    );
}

#[test]
fn every_piece_of_read_models_and_policies_is_part_of_the_tested_program() {
    check_guide(
        "read-models-and-policies.md",
        include_str!("../../../docs/read-models-and-policies.md"),
        12,
    );
}
