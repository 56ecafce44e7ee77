//! The `gan-quality` section end to end in the quick profile: both scorers trained, two GANs
//! trained for their quick epochs, every generator scored by both scorers against their floors,
//! and the report showing it.

use latentlab::analysis::GanQualityFile;
use latentlab::models::GanKind;
use latentlab::pipeline::{run_sections, GAN_QUALITY};
use latentlab::runtime::Profile;
use latentlab::train::{Progress, Scorer};

#[test]
fn both_scorers_score_every_generator_against_their_floor() {
    let runs = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let names: Vec<String> = [
        "mnist-classifier",
        "mnist-classifier-heldout",
        "gan-gan",
        "gan-conv-acgan",
        GAN_QUALITY,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let folders = run_sections(Profile::Quick, runs.path(), &names, &mut Progress::Silent).unwrap();
    let q: GanQualityFile =
        latentlab::fsutil::read_json(runs.path().join("gan_quality.json")).unwrap();
    assert_eq!(q.samples, 1000);
    assert_eq!(q.floors.len(), 2, "a floor per scorer");
    assert!(q.acgan.is_none(), "only trained generators are scored");
    for scorer in Scorer::ALL {
        let floor = &q.floors[&scorer];
        // Real training digits, with their labels, scored as if generated.
        assert!(
            floor.class_consistency.unwrap() > 0.5,
            "{scorer:?}: {floor:?}"
        );
        assert!(floor.precision > 0.3 && floor.recall > 0.3, "{floor:?}");
        assert!(floor.per_class_frechet.iter().all(Option::is_some));
        assert_eq!(floor.strokes.len(), 10);
        for kind in [GanKind::Gan, GanKind::ConvAcGan] {
            let s = &q.get(kind).unwrap().scores[&scorer];
            assert_eq!(s.samples, 1000);
            assert_eq!(s.class_consistency.is_some(), kind.conditional());
            assert!((0.0..=1.0).contains(&s.precision) && (0.0..=1.0).contains(&s.recall));
            assert!(
                s.frechet_to_test > floor.frechet_to_test,
                "{kind:?} beats real digits?"
            );
            let total: f64 = s.class_histogram.iter().sum();
            assert!((total - 1.0).abs() < 1e-9);
        }
    }
    let summary = latentlab::report::write_report(&folders, out.path(), "t").unwrap();
    assert!(summary.included.contains(&"gan-quality".to_string()));
    assert!(summary
        .included
        .contains(&"mnist-classifier-heldout".to_string()));
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    for needle in [
        "precision / recall (held-out scorer",
        "real training digits (floor)",
        "ink / slant spread",
    ] {
        assert!(html.contains(needle), "report lacks {needle:?}");
    }
    let section = html
        .split("<h2>gan-quality</h2>")
        .nth(1)
        .expect("a gan-quality section");
    let section = section.split("<h2>").next().unwrap();
    assert_eq!(
        section.matches("<img").count(),
        2,
        "a per-digit heatmap per scorer"
    );
}
