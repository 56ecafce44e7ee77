//! The notebooks' first cell: the cell's profile and retrain switch, and variables set outside
//! the notebook winning over them on every run of the cell. One test in its own binary, because it
//! changes the process's environment.

use latentlab::runtime::{self, notebook_settings, Profile};

#[test]
fn the_cell_sets_the_switches_unless_the_environment_already_did() {
    for v in [
        "LATENTLAB_OUTSIDE_PROFILE",
        "LATENTLAB_OUTSIDE_RETRAIN",
        "LATENTLAB_RETRAIN",
    ] {
        std::env::remove_var(v);
    }
    std::env::set_var("LATENTLAB_DEVICE", "cpu");
    // LATENTLAB_PROFILE set outside: it wins, on the first run of the cell and on every later one.
    std::env::set_var("LATENTLAB_PROFILE", "full");
    assert_eq!(
        notebook_settings(Profile::Quick, false).unwrap(),
        Profile::Full
    );
    assert!(!runtime::retrain_requested());
    assert_eq!(
        notebook_settings(Profile::Quick, true).unwrap(),
        Profile::Full
    );
    // The retrain switch was not set outside: the cell's latest value holds.
    assert!(runtime::retrain_requested());
    assert_eq!(Profile::from_env().unwrap(), Profile::Full);
    assert_eq!(
        notebook_settings(Profile::Quick, false).unwrap(),
        Profile::Full
    );
    assert!(!runtime::retrain_requested());
    // A bad outside value is an error that says what is expected.
    std::env::set_var("LATENTLAB_OUTSIDE_PROFILE", "fast");
    let err = notebook_settings(Profile::Quick, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("quick") && err.contains("full"), "{err}");
    // Nothing set outside: the cell decides, and can change its mind.
    std::env::set_var("LATENTLAB_OUTSIDE_PROFILE", "");
    assert_eq!(
        notebook_settings(Profile::Quick, false).unwrap(),
        Profile::Quick
    );
    assert_eq!(
        notebook_settings(Profile::Full, true).unwrap(),
        Profile::Full
    );
    assert!(runtime::retrain_requested());
}
