//! Exercise checks for the notebooks: each prints one line that says whether the answer holds.
//!
//! A held check prints `✓ <exercise>: <what>`; one that does not prints
//! `✗ <exercise>, not yet: <what>` and a hint. Cells never fail on a wrong answer, so a student can
//! keep going; the solution notebooks are run by CI, which requires every line to be a `✓`.

/// Prints whether `holds`, naming the exercise, what was checked and (when it does not hold) a
/// hint. Returns `holds`.
pub fn check(exercise: &str, holds: bool, what: &str, hint: &str) -> bool {
    if holds {
        println!("✓ {exercise}: {what}");
    } else {
        println!("✗ {exercise}, not yet: {what}. Hint: {hint}");
    }
    holds
}

/// `check` on `a < b`, printing both numbers.
pub fn check_less(exercise: &str, what: &str, a: (&str, f64), b: (&str, f64), hint: &str) -> bool {
    let holds = a.1 < b.1;
    check(
        exercise,
        holds,
        &format!("{what}: {} {:.5} < {} {:.5}", a.0, a.1, b.0, b.1),
        hint,
    )
}
