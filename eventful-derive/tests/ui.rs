//! Every misuse of the macros a user can make, with the message it prints (`tests/ui/*.rs`
//! beside the `*.stderr` they must print). Regenerate with `TRYBUILD=overwrite`, then read
//! every changed `.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
