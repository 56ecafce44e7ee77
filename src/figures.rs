//! Figures that join models and data to the drawing functions of [`crate::display`]. Each returns
//! one [`Figure`], so a notebook cell can end with it.

use crate::data::dataset::tensor_to_images;
use crate::data::Dataset;
use crate::display::{image_grid, line_plot, Figure, ImageRow, Series, VMarker};
use crate::models::Autoencoder;
use crate::train::History;
use tch::{nn::ModuleT, Tensor};

/// Pixel scale used for 28×28 images in grids.
pub const SCALE: u32 = 3;

/// `per_class` example images of every class, one row per class, labelled with class names.
pub fn class_samples(data: &Dataset, per_class: usize, title: &str) -> anyhow::Result<Figure> {
    let names = data.class_names();
    let idx = data.first_of_each_class(per_class);
    let labels = data.label_vec();
    let mut rows: Vec<ImageRow> = names
        .iter()
        .map(|n| ImageRow {
            label: n.clone(),
            images: vec![],
        })
        .collect();
    for i in idx {
        rows[labels[i] as usize].images.push(data.image(i));
    }
    rows.retain(|r| !r.images.is_empty());
    image_grid(Some(title), &rows, 28, 28, SCALE, None)
}

/// The images of `data` at `indices`, as `f32 [n,1,28,28]`.
pub fn images_at(data: &Dataset, indices: &[usize]) -> Tensor {
    let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    data.batch(&Tensor::from_slice(&idx)).0
}

/// Originals in the first row, then one row of reconstructions per model (eval mode).
pub fn reconstructions(
    models: &[(&str, &Autoencoder)],
    data: &Dataset,
    indices: &[usize],
    title: &str,
) -> anyhow::Result<Figure> {
    let rows: Vec<(&str, Tensor)> = models
        .iter()
        .map(|(name, model)| (*name, reconstruct_at(model, data, indices)))
        .collect();
    reconstruction_comparison(data, indices, &rows, title)
}

/// The device a model's weights are on.
pub fn model_device(model: &Autoencoder) -> tch::Device {
    // A zero-sized probe through the encoder would be wasteful; ask a parameter instead.
    model.encoder_device()
}

/// Train and test loss per epoch of one run.
pub fn loss_curves(history: &History, title: &str, y_label: &str) -> anyhow::Result<Figure> {
    let mut series = vec![Series {
        name: "train".into(),
        points: history.train_curve(),
    }];
    let test = history.test_curve();
    if !test.is_empty() {
        series.push(Series {
            name: "test".into(),
            points: test,
        });
    }
    line_plot(title, "epoch", y_label, &series, &[], false)
}

/// Test (or train, if no test) loss curves of several runs on one plot, with optional
/// horizontal reference levels drawn as flat series (e.g. PCA-10).
pub fn compare_curves(
    runs: &[(&str, &History)],
    references: &[(&str, f64)],
    title: &str,
    y_label: &str,
) -> anyhow::Result<Figure> {
    let mut series: Vec<Series> = runs
        .iter()
        .map(|(name, h)| {
            let test = h.test_curve();
            Series {
                name: name.to_string(),
                points: if test.is_empty() {
                    h.train_curve()
                } else {
                    test
                },
            }
        })
        .collect();
    let max_epoch = runs
        .iter()
        .filter_map(|(_, h)| h.last().map(|e| e.epoch))
        .max()
        .unwrap_or(1) as f64;
    for (name, v) in references {
        series.push(Series {
            name: name.to_string(),
            points: vec![(1.0, *v), (max_epoch, *v)],
        });
    }
    line_plot(title, "epoch", y_label, &series, &[] as &[VMarker], false)
}

/// Images `[n, 1, 28, 28]` in `[0, 1]` in unlabelled rows of `per_row` (an unconditional GAN's
/// samples, generated images of one class, …).
pub fn digit_grid(images: &Tensor, per_row: usize, title: &str) -> anyhow::Result<Figure> {
    grid_rows(images, per_row, title, false)
}

/// Ten rows of `per_row` images, one per digit, labelled 0–9: an AC-GAN's
/// [`crate::train::GanRun::sample_grid`]. Fails unless the images fill exactly ten rows.
pub fn class_grid(images: &Tensor, per_row: usize, title: &str) -> anyhow::Result<Figure> {
    grid_rows(images, per_row, title, true)
}

fn grid_rows(
    images: &Tensor,
    per_row: usize,
    title: &str,
    by_class: bool,
) -> anyhow::Result<Figure> {
    let imgs = tensor_to_images(images);
    anyhow::ensure!(!imgs.is_empty(), "no images to draw");
    let per_row = per_row.max(1);
    anyhow::ensure!(
        !by_class || imgs.len() == 10 * per_row,
        "a class grid needs 10 rows of {per_row} images, got {} images",
        imgs.len()
    );
    let rows: Vec<ImageRow> = imgs
        .chunks(per_row)
        .enumerate()
        .map(|(i, c)| ImageRow {
            label: if by_class {
                i.to_string()
            } else {
                String::new()
            },
            images: c.to_vec(),
        })
        .collect();
    image_grid(Some(title), &rows, 28, 28, SCALE, None)
}

/// Rows of labelled images side by side: e.g. "real" and "generated".
pub fn labelled_rows(rows: &[(&str, &Tensor)], title: &str) -> anyhow::Result<Figure> {
    let rows: Vec<ImageRow> = rows
        .iter()
        .map(|(l, t)| ImageRow {
            label: l.to_string(),
            images: tensor_to_images(t),
        })
        .collect();
    image_grid(Some(title), &rows, 28, 28, SCALE, None)
}

/// Discriminator and generator losses: per logged step (thin) and per epoch, with a marker where
/// the discriminator starts getting more steps (the homework's figure 2).
pub fn gan_losses(
    history: &History,
    config: &crate::train::GanConfig,
    title: &str,
) -> anyhow::Result<Figure> {
    let mut series = vec![
        Series {
            name: "D loss (epoch mean)".into(),
            points: history.train_curve(),
        },
        Series {
            name: "G loss (epoch mean)".into(),
            points: history.extra_curve("g_loss"),
        },
    ];
    // Per-step series, mapped onto the epoch axis.
    let epochs = history.epochs.len().max(1) as f64;
    for (key, name) in [("d_loss", "D loss (steps)"), ("g_loss", "G loss (steps)")] {
        if let Some(v) = history.steps.get(key) {
            if v.len() > 1 && history.epochs.len() > 1 {
                let n = v.len() as f64;
                series.push(Series {
                    name: name.into(),
                    points: v
                        .iter()
                        .enumerate()
                        .map(|(i, &y)| (1.0 + (epochs - 1.0) * i as f64 / (n - 1.0), y))
                        .collect(),
                });
            }
        }
    }
    let markers: Vec<VMarker> = config
        .d_schedule
        .iter()
        .map(|s| VMarker {
            x: s.epoch as f64,
            label: format!("D ×{}", s.d_steps),
        })
        .collect();
    line_plot(title, "epoch", "loss", &series, &markers, false)
}

/// The conv AC-GAN sweep as a table: one row per variant with its settings and its class
/// consistency and Fréchet distance after `epochs` (e.g. `[15, 30]`; "—" where not measured).
pub fn sweep_table(
    variants: &[crate::analysis::SweepVariant],
    epochs: &[usize],
    title: &str,
) -> crate::display::Table {
    let mut headers = vec![
        "variant".to_string(),
        "channels".into(),
        "D steps".into(),
        "D class loss on fakes".into(),
        "G class weight".into(),
        "init".into(),
    ];
    for e in epochs {
        headers.push(format!("consistency @{e}"));
        headers.push(format!("Fréchet @{e}"));
    }
    let mut t = crate::display::Table::new(headers).with_title(title);
    for v in variants {
        let c = &v.cfg;
        let sched =
            c["sched"]
                .as_array()
                .filter(|a| !a.is_empty())
                .map_or("1:1".to_string(), |a| {
                    a.iter()
                        .map(|s| format!("{}:1 from epoch {}", s[1], s[0]))
                        .collect::<Vec<_>>()
                        .join(", ")
                });
        let mut row = vec![
            v.name.clone(),
            format!("{} / {}", c["c"], 2 * c["c"].as_i64().unwrap_or(0)),
            sched,
            format!("{}", c["d_fake_cls"]),
            format!("{}", c["g_cls"]),
            match c["init"].as_str().unwrap_or("torch") {
                "tch" => "tch".to_string(),
                "tch_bn1" => "tch, BN scale 1".to_string(),
                _ => "PyTorch".to_string(),
            },
        ];
        for &e in epochs {
            match v.at(e) {
                Some(s) => {
                    row.push(format!("{:.1}%", 100.0 * s.consistency));
                    row.push(format!("{:.1}", s.fd));
                }
                None => row.extend(["—".to_string(), "—".to_string()]),
            }
        }
        t.push_row(row);
    }
    t
}

/// Writes images `[n, 1, 28, 28]` in `[0, 1]` as an IDX image file (gzip if the name ends in
/// `.gz`), atomically.
pub fn write_images_idx(images: &Tensor, path: &std::path::Path) -> anyhow::Result<()> {
    let n = images.size()[0] as usize;
    let bytes = (images.detach().to_device(tch::Device::Cpu).clamp(0.0, 1.0) * 255.0)
        .round()
        .to_kind(tch::Kind::Uint8)
        .contiguous()
        .view([-1]);
    let pixels = Vec::<u8>::try_from(&bytes)?;
    let idx = crate::data::idx::IdxImages {
        count: n,
        rows: 28,
        cols: 28,
        pixels,
    };
    let gz = path.extension().is_some_and(|e| e == "gz");
    crate::data::idx::write_idx_images(path, &idx, gz)?;
    Ok(())
}

/// The search results as a table (best first, at most `max_rows` rows).
pub fn search_table(res: &crate::train::SearchResults, max_rows: usize) -> crate::display::Table {
    let k = res.rows.first().map(|r| r.per_fold.len()).unwrap_or(0);
    let mut headers: Vec<String> = [
        "rank",
        "latent",
        "optimizer",
        "lr",
        "weight decay",
        "mean",
        "std",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    headers.extend((1..=k).map(|f| format!("fold {f}")));
    let mut t = crate::display::Table::new(headers)
        .with_title("Validation loss (MSE per pixel) by configuration, best first");
    for (i, r) in res.rows.iter().take(max_rows).enumerate() {
        let c = &r.candidate;
        let mut row = vec![
            (i + 1).to_string(),
            c.latent_dim.to_string(),
            format!("{:?}", c.optimizer.kind),
            format!("{:.0e}", c.optimizer.lr),
            if c.optimizer.weight_decay == 0.0 {
                "0".into()
            } else {
                format!("{:.0e}", c.optimizer.weight_decay)
            },
            format!("{:.5}", r.mean),
            format!("{:.5}", r.std),
        ];
        row.extend(r.per_fold.iter().map(|v| format!("{v:.5}")));
        t.push_row(row);
    }
    t
}

/// Mean validation loss per configuration with the fold spread as error bars (the homework's
/// figures 14/15), optionally with a reference level such as PCA-10.
pub fn search_chart(
    res: &crate::train::SearchResults,
    reference: Option<(f64, &str)>,
) -> anyhow::Result<Figure> {
    let bars: Vec<crate::display::Bar> = res
        .rows
        .iter()
        .map(|r| crate::display::Bar {
            label: r.candidate.id.clone(),
            value: r.mean,
            error: Some(r.std),
        })
        .collect();
    crate::display::bar_chart(
        "Cross-validated loss per configuration (mean ± std over folds)",
        "validation MSE",
        &bars,
        reference,
    )
}

/// Validation curves of every fold of one candidate.
pub fn fold_curves(res: &crate::train::SearchResults, candidate: &str) -> anyhow::Result<Figure> {
    let series: Vec<Series> = res
        .folds
        .iter()
        .filter(|f| f.candidate == candidate)
        .map(|f| Series {
            name: format!("fold {}", f.fold + 1),
            points: f
                .valid_curve
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v))
                .collect(),
        })
        .collect();
    anyhow::ensure!(
        !series.is_empty(),
        "no folds recorded for candidate {candidate}"
    );
    line_plot(
        &format!("Validation loss per fold: {candidate}"),
        "epoch",
        "validation MSE",
        &series,
        &[],
        false,
    )
}

/// Originals in the first row, then one row per named set of reconstructions of the same images
/// (e.g. PCA-10, the homework's autoencoder, the improved one).
pub fn reconstruction_comparison(
    data: &Dataset,
    indices: &[usize],
    rows: &[(&str, Tensor)],
    title: &str,
) -> anyhow::Result<Figure> {
    let x = images_at(data, indices);
    let mut all = vec![ImageRow {
        label: "original".into(),
        images: tensor_to_images(&x),
    }];
    for (name, t) in rows {
        all.push(ImageRow {
            label: name.to_string(),
            images: tensor_to_images(t),
        });
    }
    let names = data.class_names();
    let labels = data.label_vec();
    let titles: Vec<String> = indices
        .iter()
        .map(|&i| names[labels[i] as usize].clone())
        .collect();
    image_grid(Some(title), &all, 28, 28, SCALE, Some(&titles))
}

/// Reconstructions by an autoencoder of the images of `data` at `indices` (eval mode).
pub fn reconstruct_at(model: &Autoencoder, data: &Dataset, indices: &[usize]) -> Tensor {
    let x = images_at(data, indices).to_device(model_device(model));
    tch::no_grad(|| model.forward_t(&x, false))
}

/// Fine-tuning curves (the homework's figure 7): cross-entropy of the matcher-only phase, then
/// cross-entropy and reconstruction MSE of the joint phase, per epoch on one log axis.
pub fn finetune_curves(run: &crate::train::FinetuneRun) -> anyhow::Result<Figure> {
    let m = run.matcher_history.epochs.len() as f64;
    let shift = |pts: Vec<(f64, f64)>| pts.into_iter().map(|(x, y)| (x + m, y)).collect();
    let mut series = vec![Series {
        name: "cross-entropy, matcher only".into(),
        points: run.matcher_history.train_curve(),
    }];
    if !run.joint_history.epochs.is_empty() {
        series.push(Series {
            name: "cross-entropy, joint".into(),
            points: shift(run.joint_history.extra_curve("classification")),
        });
        series.push(Series {
            name: "reconstruction MSE (train)".into(),
            points: shift(run.joint_history.extra_curve("reconstruction")),
        });
        series.push(Series {
            name: "reconstruction MSE (test)".into(),
            points: shift(run.joint_history.extra_curve("test_mse")),
        });
    }
    let markers = if m > 0.0 && !run.joint_history.epochs.is_empty() {
        vec![VMarker {
            x: m + 0.5,
            label: "joint training starts".into(),
        }]
    } else {
        vec![]
    };
    line_plot(
        "Fine-tuning: classification and reconstruction losses",
        "epoch",
        "loss (log scale)",
        &series,
        &markers,
        true,
    )
}

/// Test accuracy per epoch through both fine-tuning phases.
pub fn finetune_accuracy(run: &crate::train::FinetuneRun) -> anyhow::Result<Figure> {
    let m = run.matcher_history.epochs.len() as f64;
    let mut pts = run.matcher_history.extra_curve("test_accuracy");
    pts.extend(
        run.joint_history
            .extra_curve("test_accuracy")
            .into_iter()
            .map(|(x, y)| (x + m, y)),
    );
    let pts = pts.into_iter().map(|(x, y)| (x, 100.0 * y)).collect();
    line_plot(
        "Test accuracy during fine-tuning",
        "epoch",
        "accuracy (%)",
        &[Series {
            name: "test accuracy".into(),
            points: pts,
        }],
        &[VMarker {
            x: m + 0.5,
            label: "joint training starts".into(),
        }],
        false,
    )
}

/// A confusion matrix (row = true class, column = predicted) with class names.
pub fn confusion(
    predicted: &[i64],
    truth: &[i64],
    class_names: &[String],
    title: &str,
) -> anyhow::Result<Figure> {
    let m = crate::analysis::confusion_matrix(predicted, truth, class_names.len());
    crate::display::heatmap_with_axes(
        title,
        "predicted",
        "true",
        &m,
        class_names,
        class_names,
        true,
    )
}

/// Images `[10 * k, 1, 28, 28]` ordered class by class, one row per class labelled with its name.
pub fn class_rows(images: &Tensor, class_names: &[String], title: &str) -> anyhow::Result<Figure> {
    let imgs = tensor_to_images(images);
    let k = imgs.len() / class_names.len().max(1);
    anyhow::ensure!(k >= 1, "need at least one image per class");
    let rows: Vec<ImageRow> = class_names
        .iter()
        .enumerate()
        .map(|(c, name)| ImageRow {
            label: name.clone(),
            images: imgs[c * k..(c + 1) * k].to_vec(),
        })
        .collect();
    image_grid(Some(title), &rows, 28, 28, SCALE, None)
}

/// The latent manifold of a 2-d code: images decoded from an `n`×`n` regular grid over `x` × `y`
/// (top row = largest y, as on the scatter plot of the codes).
pub fn latent_manifold(
    model: &Autoencoder,
    x: (f64, f64),
    y: (f64, f64),
    n: usize,
    title: &str,
) -> anyhow::Result<Figure> {
    let codes = crate::analysis::plane_grid(x, y, n)?.to_device(model_device(model));
    let imgs = tensor_to_images(&tch::no_grad(|| model.decode(&codes, false)));
    let rows: Vec<ImageRow> = imgs
        .chunks(n)
        .enumerate()
        .map(|(r, row)| ImageRow {
            label: format!("{:.1}", y.1 - (y.1 - y.0) * r as f64 / (n - 1) as f64),
            images: row.to_vec(),
        })
        .collect();
    let titles: Vec<String> = (0..n)
        .map(|c| format!("{:.1}", x.0 + (x.1 - x.0) * c as f64 / (n - 1) as f64))
        .collect();
    image_grid(Some(title), &rows, 28, 28, 2, Some(&titles))
}

/// Code activations `[n, d]` as a heatmap: one row per image (labelled), one column per unit
/// (the homework's figures 12/13). Columns are named by `unit_names` (e.g. class names).
pub fn activations(
    codes: &Tensor,
    row_labels: &[String],
    unit_names: &[String],
    title: &str,
) -> anyhow::Result<Figure> {
    let m: Vec<Vec<f64>> = Vec::<Vec<f32>>::try_from(codes.to_device(tch::Device::Cpu))?
        .into_iter()
        .map(|r| r.into_iter().map(f64::from).collect())
        .collect();
    anyhow::ensure!(
        m.len() == row_labels.len(),
        "{} rows of activations but {} row labels",
        m.len(),
        row_labels.len()
    );
    crate::display::heatmap_with_axes(
        title,
        "code unit",
        "test image (true class)",
        &m,
        row_labels,
        unit_names,
        true,
    )
}

/// The 2-d codes `[n, 2]` of the images of `data` scattered on their plane, coloured by class.
pub fn code_plane(codes: &Tensor, data: &Dataset, title: &str) -> anyhow::Result<Figure> {
    anyhow::ensure!(
        codes.dim() == 2 && codes.size()[1] == 2,
        "a code plane needs 2-d codes, got shape {:?}",
        codes.size()
    );
    let v: Vec<Vec<f32>> = Vec::<Vec<f32>>::try_from(codes.to_device(tch::Device::Cpu))?;
    let points: Vec<(f64, f64)> = v.iter().map(|p| (p[0] as f64, p[1] as f64)).collect();
    let classes: Vec<usize> = data.label_vec().iter().map(|&c| c as usize).collect();
    anyhow::ensure!(
        points.len() == classes.len(),
        "{} codes for {} images",
        points.len(),
        classes.len()
    );
    crate::display::scatter_plot(
        title,
        "code 1",
        "code 2",
        &points,
        &classes,
        &data.class_names(),
    )
}

/// How tables name a GAN kind.
pub fn gan_label(kind: crate::models::GanKind) -> &'static str {
    match kind {
        crate::models::GanKind::Gan => "GAN (FC)",
        crate::models::GanKind::AcGan => "AC-GAN (FC)",
        crate::models::GanKind::ConvAcGan => "AC-GAN (conv)",
    }
}

/// The rows of a GAN-quality table or heatmap, per scorer: the floor (real training digits)
/// first, then each scored generator.
fn quality_rows(
    q: &crate::analysis::GanQualityFile,
    scorer: crate::train::Scorer,
) -> Vec<(String, Option<usize>, &crate::analysis::GanQuality)> {
    let floor = q
        .floors
        .get(&scorer)
        .map(|f| ("real training digits (floor)".to_string(), None, f));
    let gans = crate::models::GanKind::ALL.into_iter().filter_map(|k| {
        let e = q.get(k)?;
        let s = e.scores.get(&scorer)?;
        Some((gan_label(k).to_string(), Some(e.epochs), s))
    });
    floor.into_iter().chain(gans).collect()
}

/// The "ink / slant spread" cell of the GAN tables: the samples' spread over real digits'
/// ([`crate::analysis::spread_ratios`]), or a dash when no digit has enough samples.
fn spread_cell(s: &crate::analysis::GanQuality) -> String {
    crate::analysis::spread_ratios(&s.strokes)
        .map_or("—".to_string(), |(i, sl)| format!("{i:.2} / {sl:.2}"))
}

/// Recorded GAN variants side by side ([`crate::analysis::load_variant`]), each row labelled by
/// the caller, then the floor of the first: epochs, then Fréchet distance, class consistency,
/// the smallest and largest digit share, precision and recall by the scorer and by the held-out
/// scorer, and the ink / slant spread.
pub fn variants_table(
    rows: &[(&str, &crate::analysis::GanQualityFile)],
    title: &str,
) -> crate::display::Table {
    use crate::train::Scorer;
    let mut t = crate::display::Table::new([
        "variant",
        "epochs",
        "Fréchet (scorer / held-out)",
        "consistency (scorer / held-out)",
        "digit share min–max (scorer / held-out)",
        "precision (scorer / held-out)",
        "recall (scorer / held-out)",
        "ink / slant spread",
    ])
    .with_title(title);
    let pair = |q: &std::collections::BTreeMap<Scorer, crate::analysis::GanQuality>,
                f: &dyn Fn(&crate::analysis::GanQuality) -> String| {
        let get = |s: Scorer| q.get(&s).map_or("—".to_string(), f);
        format!("{} / {}", get(Scorer::Main), get(Scorer::Heldout))
    };
    let mut push = |label: &str, epochs: String, q: &std::collections::BTreeMap<Scorer, _>| {
        let spread = q.get(&Scorer::Main).map_or("—".to_string(), spread_cell);
        t.push_row([
            label.to_string(),
            epochs,
            pair(q, &|s| format!("{:.2}", s.frechet_to_test)),
            pair(q, &|s| {
                s.class_consistency
                    .map_or("—".to_string(), |c| format!("{:.1}%", 100.0 * c))
            }),
            pair(q, &|s| {
                let (lo, hi) = s.share_range();
                format!("{:.1}–{:.1}%", 100.0 * lo, 100.0 * hi)
            }),
            pair(q, &|s| format!("{:.3}", s.precision)),
            pair(q, &|s| format!("{:.3}", s.recall)),
            spread,
        ]);
    };
    for (label, q) in rows {
        for kind in crate::models::GanKind::ALL {
            if let Some(e) = q.get(kind) {
                push(label, e.epochs.to_string(), &e.scores);
            }
        }
    }
    if let Some((_, q)) = rows.first() {
        push("real training digits (floor)", "—".to_string(), &q.floors);
    }
    t
}

/// [`variants_table`] of variants recorded in `dir` ([`crate::analysis::load_variant`]), one
/// row per `(label, name)` pair: the variant `name`, labelled `label`. Fails, naming the file,
/// on the first name that is not recorded there.
pub fn recorded_variants_table(
    dir: &std::path::Path,
    rows: &[(&str, &str)],
    title: &str,
) -> anyhow::Result<crate::display::Table> {
    let files = rows
        .iter()
        .map(|(_, name)| crate::analysis::load_variant(dir, name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let labelled: Vec<_> = rows.iter().map(|(label, _)| *label).zip(&files).collect();
    Ok(variants_table(&labelled, title))
}

/// The digit shares of recorded GAN variants by one scorer as a heatmap (in %): the real
/// training digits of the first variant's floor first, then one row per variant, labelled by the
/// caller; one column per digit. An even generator's row looks like the floor's.
pub fn variant_shares(
    rows: &[(&str, &crate::analysis::GanQualityFile)],
    scorer: crate::train::Scorer,
) -> anyhow::Result<Figure> {
    let floor = rows.first().and_then(|(_, q)| q.floors.get(&scorer));
    let mut names = Vec::new();
    let mut matrix = Vec::new();
    let mut push = |name: &str, s: &crate::analysis::GanQuality| {
        names.push(name.to_string());
        matrix.push(s.class_histogram.iter().map(|v| 100.0 * v).collect());
    };
    if let Some(f) = floor {
        push("real training digits (floor)", f);
    }
    for (label, q) in rows {
        for kind in crate::models::GanKind::ALL {
            if let Some(s) = q.get(kind).and_then(|e| e.scores.get(&scorer)) {
                push(label, s);
            }
        }
    }
    anyhow::ensure!(
        names.len() > usize::from(floor.is_some()),
        "no variant here has scores by the {}",
        scorer.label()
    );
    let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    crate::display::heatmap_with_axes(
        &format!(
            "Share of each digit among the samples, % ({})",
            scorer.label()
        ),
        "digit (as the scorer reads it)",
        "",
        &matrix,
        &names,
        &digits,
        true,
    )
}

/// Every generator's scores by every scorer, with each scorer's floor first: class consistency,
/// Fréchet distance, precision and recall, the worst digit's Fréchet distance, the spread of ink
/// and slant against real digits (1 = as varied), and the smallest and largest digit share.
pub fn gan_quality_table(
    q: &crate::analysis::GanQualityFile,
    title: &str,
) -> crate::display::Table {
    let mut t = crate::display::Table::new([
        "scorer",
        "model",
        "epochs",
        "class consistency",
        "Fréchet distance",
        "precision",
        "recall",
        "worst digit (Fréchet)",
        "ink / slant spread",
        "digit share min / max",
    ])
    .with_title(title);
    for scorer in crate::train::Scorer::ALL {
        for (name, epochs, s) in quality_rows(q, scorer) {
            let (lo, hi) = s.share_range();
            let spread = spread_cell(s);
            t.push_row([
                scorer.label().to_string(),
                name,
                epochs.map_or("—".to_string(), |e| e.to_string()),
                s.class_consistency
                    .map_or("— (unconditional)".to_string(), |c| {
                        format!("{:.1}%", 100.0 * c)
                    }),
                format!("{:.2}", s.frechet_to_test),
                format!("{:.3}", s.precision),
                format!("{:.3}", s.recall),
                s.worst_class()
                    .map_or("—".to_string(), |(c, d)| format!("{c} ({d:.2})")),
                spread,
                format!("{:.1}% / {:.1}%", 100.0 * lo, 100.0 * hi),
            ]);
        }
    }
    t
}

/// Per-digit Fréchet distances by one scorer as a heatmap: one row per generator (the floor
/// first), one column per digit; gray where a digit had fewer than two samples.
pub fn per_class_frechet(
    q: &crate::analysis::GanQualityFile,
    scorer: crate::train::Scorer,
) -> anyhow::Result<Figure> {
    let rows = quality_rows(q, scorer);
    anyhow::ensure!(
        !rows.is_empty(),
        "no scores by the {} in this GAN-quality file",
        scorer.label()
    );
    let matrix: Vec<Vec<f64>> = rows
        .iter()
        .map(|(_, _, s)| {
            s.per_class_frechet
                .iter()
                .map(|d| d.unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let names: Vec<String> = rows.iter().map(|(n, _, _)| n.clone()).collect();
    let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    crate::display::heatmap_with_axes(
        &format!(
            "Fréchet distance per digit ({}, lower is closer)",
            scorer.label()
        ),
        "digit",
        "",
        &matrix,
        &names,
        &digits,
        true,
    )
}

/// One generator's strokes per digit against the test digits': mean ± standard deviation of the
/// ink (fully inked pixels) and of the slant (degrees). A too-uniform generator shows smaller
/// standard deviations than the real digits beside it.
pub fn stroke_table(q: &crate::analysis::GanQuality, title: &str) -> crate::display::Table {
    let mut t = crate::display::Table::new([
        "digit",
        "images",
        "ink, real",
        "ink, generated",
        "slant °, real",
        "slant °, generated",
    ])
    .with_title(title);
    let pm = |m: f64, s: f64| format!("{m:.1} ± {s:.1}");
    for c in &q.strokes {
        t.push_row([
            c.class.to_string(),
            c.generated.images.to_string(),
            pm(c.real.ink_mean, c.real.ink_std),
            pm(c.generated.ink_mean, c.generated.ink_std),
            pm(c.real.slant_mean, c.real.slant_std),
            pm(c.generated.slant_mean, c.generated.slant_std),
        ]);
    }
    t
}
