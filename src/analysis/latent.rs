//! Latent codes: encoding a dataset, class prototypes from the most confident samples, sampling
//! new codes around them, and interpolation.

use crate::data::Dataset;
use crate::models::Autoencoder;
use tch::{Device, Kind, Tensor};

/// Encodes every image of `data` (eval mode) into `[n, latent_dim]` on the CPU.
pub fn encode_dataset(model: &Autoencoder, data: &Dataset) -> Tensor {
    let device = model.encoder_device();
    let mut parts = Vec::new();
    tch::no_grad(|| {
        for start in (0..data.len()).step_by(1000) {
            let (x, _) = data.range(start, start + 1000);
            parts.push(
                model
                    .encode(&x.to_device(device), false)
                    .to_device(Device::Cpu),
            );
        }
    });
    Tensor::cat(&parts, 0)
}

/// A class prototype: mean and standard deviation of the codes of the `top_k` samples the
/// classifier is most confident about.
#[derive(Debug)]
pub struct ClassPrototype {
    /// Class index.
    pub class: i64,
    /// Mean code `[latent_dim]`.
    pub mean: Tensor,
    /// Per-dimension standard deviation `[latent_dim]` (population).
    pub std: Tensor,
    /// Indices (into the encoded set) of the samples used.
    pub indices: Vec<i64>,
}

/// For every class, the prototype from the `top_k` samples *of that class* (true label) with the
/// highest predicted probability of it. `codes` `[n, d]`, `probabilities` `[n, 10]`, `labels` `[n]`.
pub fn class_prototypes(
    codes: &Tensor,
    probabilities: &Tensor,
    labels: &Tensor,
    top_k: usize,
) -> anyhow::Result<Vec<ClassPrototype>> {
    anyhow::ensure!(top_k >= 1, "top_k must be at least 1");
    let n = codes.size()[0];
    anyhow::ensure!(
        probabilities.size() == [n, 10] && labels.size() == [n],
        "codes, probabilities and labels must describe the same {n} samples"
    );
    let mut out = Vec::new();
    for c in 0..10i64 {
        let idx = labels.eq(c).nonzero().view([-1]);
        let m = idx.size()[0];
        anyhow::ensure!(m > 0, "no sample of class {c}: cannot build its prototype");
        let p = probabilities.index_select(0, &idx).select(1, c);
        let k = (top_k as i64).min(m);
        let (_, order) = p.topk(k, 0, true, true);
        let chosen = idx.index_select(0, &order);
        let z = codes.index_select(0, &chosen).to_kind(Kind::Float);
        out.push(ClassPrototype {
            class: c,
            mean: z.mean_dim(0, false, Kind::Float),
            std: z.std_dim(0, false, false),
            indices: Vec::<i64>::try_from(&chosen)?,
        });
    }
    Ok(out)
}

/// `count` new codes `mean + scale · std · ε`, ε ~ N(0, 1) drawn from `seed` (reproducible).
pub fn sample_codes(proto: &ClassPrototype, count: usize, scale: f64, seed: u64) -> Tensor {
    let d = proto.mean.size()[0];
    let (eps, _) = crate::train::gan::seeded_noise(count, d, Some(0), seed as i64, Device::Cpu);
    proto.mean.unsqueeze(0) + eps * proto.std.unsqueeze(0) * scale
}

/// `steps` codes evenly spaced from `a` to `b` (both ends included).
pub fn interpolate(a: &Tensor, b: &Tensor, steps: usize) -> Tensor {
    let steps = steps.max(2);
    let rows: Vec<Tensor> = (0..steps)
        .map(|i| {
            let t = i as f64 / (steps - 1) as f64;
            a * (1.0 - t) + b * t
        })
        .collect();
    Tensor::stack(&rows, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prototype_is_the_mean_of_the_most_confident_codes() {
        let codes = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 3.0, 10.0, 11.0]).view([6, 1]);
        let labels = Tensor::from_slice(&[0i64, 0, 0, 1, 1, 1]);
        // Class 0: confidence 0.9, 0.2, 0.8 → top-2 are codes 0 and 2 → mean 1.
        let mut p = vec![0.0f32; 60];
        for (i, conf) in [(0, 0.9f32), (1, 0.2), (2, 0.8)] {
            p[i * 10] = conf;
        }
        for (i, conf) in [(3, 0.1f32), (4, 0.7), (5, 0.6)] {
            p[i * 10 + 1] = conf;
        }
        // Classes 2..9 need samples too: give them none and expect an error.
        let probs = Tensor::from_slice(&p).view([6, 10]);
        assert!(class_prototypes(&codes, &probs, &labels, 2).is_err());
        let labels10: Vec<i64> = (0..10).flat_map(|c| [c, c]).collect();
        let codes10 = Tensor::arange(20, (Kind::Float, Device::Cpu)).view([20, 1]);
        let mut p10 = vec![0.0f32; 200];
        for i in 0..20 {
            p10[i * 10 + labels10[i] as usize] = if i % 2 == 0 { 0.9 } else { 0.1 };
        }
        let protos = class_prototypes(
            &codes10,
            &Tensor::from_slice(&p10).view([20, 10]),
            &Tensor::from_slice(&labels10),
            1,
        )
        .unwrap();
        assert_eq!(protos.len(), 10);
        for (c, pr) in protos.iter().enumerate() {
            assert_eq!(pr.indices, vec![2 * c as i64]);
            assert_eq!(pr.mean.double_value(&[0]), 2.0 * c as f64);
        }
        let _ = (codes, labels);
    }

    #[test]
    fn sampling_is_reproducible_by_seed() {
        let proto = ClassPrototype {
            class: 0,
            mean: Tensor::zeros([4], (Kind::Float, Device::Cpu)),
            std: Tensor::ones([4], (Kind::Float, Device::Cpu)),
            indices: vec![],
        };
        let a = sample_codes(&proto, 5, 1.0, 9);
        let b = sample_codes(&proto, 5, 1.0, 9);
        let c = sample_codes(&proto, 5, 1.0, 10);
        assert!(a.equal(&b));
        assert!(!a.equal(&c));
        assert_eq!(a.size(), [5, 4]);
    }
}

/// How generated samples of one noise scale fare.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GenerationQuality {
    /// Noise scale (multiples of the prototype's std).
    pub scale: f64,
    /// Share of generated images the fine-tuned classifier assigns to the intended class.
    pub intended_class_rate: f64,
    /// Mean pairwise pixel distance among generated images of a class, averaged over classes.
    pub generated_variety: f64,
    /// The same for real test images of the class (as many as were generated).
    pub real_variety: f64,
}

/// Decodes `count` sampled codes per class (eval mode): `[10 * count, 1, 28, 28]`, class by class.
pub fn generate_by_class(
    model: &Autoencoder,
    protos: &[ClassPrototype],
    count: usize,
    scale: f64,
    seed: u64,
) -> Tensor {
    let device = model.encoder_device();
    let parts: Vec<Tensor> = protos
        .iter()
        .map(|p| {
            let z = sample_codes(p, count, scale, seed.wrapping_add(p.class as u64));
            tch::no_grad(|| {
                model
                    .decode(&z.to_device(device), false)
                    .to_device(Device::Cpu)
            })
        })
        .collect();
    Tensor::cat(&parts, 0)
}

/// For each noise scale: how often the classifier (encoder + matcher) recognises the intended
/// class in generated images, and their variety against real images of the same class.
pub fn generation_quality(
    ae: &crate::train::AutoencoderRun,
    matcher: &crate::train::FinetuneRun,
    protos: &[ClassPrototype],
    test: &Dataset,
    scales: &[f64],
    per_class: usize,
    seed: u64,
) -> Vec<GenerationQuality> {
    let labels = test.label_vec();
    let real_variety: f64 = (0..10)
        .map(|c| {
            let idx: Vec<i64> = labels
                .iter()
                .enumerate()
                .filter(|(_, &l)| l == c)
                .map(|(i, _)| i as i64)
                .take(per_class)
                .collect();
            let (x, _) = test.batch(&Tensor::from_slice(&idx));
            super::metrics::mean_pairwise_distance(&x)
        })
        .sum::<f64>()
        / 10.0;
    scales
        .iter()
        .map(|&scale| {
            let images = generate_by_class(&ae.model, protos, per_class, scale, seed);
            let probs = matcher.predict_proba(ae, &images);
            let pred = Vec::<i64>::try_from(probs.argmax(-1, false).to_device(Device::Cpu))
                .unwrap_or_default();
            let intended: Vec<i64> = (0..10)
                .flat_map(|c| std::iter::repeat_n(c, per_class))
                .collect();
            let variety = (0..10)
                .map(|c| {
                    super::metrics::mean_pairwise_distance(&images.narrow(
                        0,
                        (c * per_class) as i64,
                        per_class as i64,
                    ))
                })
                .sum::<f64>()
                / 10.0;
            GenerationQuality {
                scale,
                intended_class_rate: super::metrics::accuracy(&pred, &intended),
                generated_variety: variety,
                real_variety,
            }
        })
        .collect()
}

/// The `lo`–`hi` quantile range (e.g. 0.01 and 0.99) of column `dim` of `codes` `[n, d]`: the part
/// of a code axis where nearly all the data lies.
pub fn code_range(codes: &Tensor, dim: i64, lo: f64, hi: f64) -> anyhow::Result<(f64, f64)> {
    anyhow::ensure!(
        codes.dim() == 2 && dim >= 0 && dim < codes.size()[1] && codes.size()[0] >= 1,
        "code_range needs codes [n >= 1, d > {dim}], got {:?}",
        codes.size()
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi) && lo < hi,
        "quantiles must satisfy 0 <= lo < hi <= 1, got {lo} and {hi}"
    );
    let mut v: Vec<f64> = Vec::<f64>::try_from(
        codes
            .select(1, dim)
            .to_kind(Kind::Double)
            .to_device(Device::Cpu),
    )?;
    v.retain(|x| x.is_finite());
    anyhow::ensure!(
        !v.is_empty(),
        "every code in column {dim} is NaN or infinite"
    );
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Ok((at(lo), at(hi)))
}

/// Codes `[n * n, 2]` of a regular `n`×`n` grid over `x` × `y`, row by row from the top (largest
/// y) to the bottom, each row from the smallest x to the largest: the layout of a plotted plane.
pub fn plane_grid(x: (f64, f64), y: (f64, f64), n: usize) -> anyhow::Result<Tensor> {
    anyhow::ensure!(
        n >= 2,
        "a plane grid needs at least 2 points a side, got {n}"
    );
    let step = |(a, b): (f64, f64), i: usize| a + (b - a) * i as f64 / (n - 1) as f64;
    let mut v = Vec::with_capacity(2 * n * n);
    for r in 0..n {
        for c in 0..n {
            v.push(step(x, c) as f32);
            v.push(step(y, n - 1 - r) as f32);
        }
    }
    Ok(Tensor::from_slice(&v).view([(n * n) as i64, 2]))
}
