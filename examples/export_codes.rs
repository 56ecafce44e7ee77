//! Writes the latent codes of a run's test images as CSV (`label,x0,x1,...`), e.g. to time other
//! t-SNE implementations on exactly the codes `latentlab latent` embeds.
//!
//! ```text
//! cargo run --release --example export_codes -- data/checkpoints/finetuned-improved full codes.csv
//! ```

use latentlab::prelude::*;
use std::io::Write;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [run, profile, out] = args.as_slice() else {
        anyhow::bail!("usage: export_codes FINETUNED_RUN quick|full OUT.csv");
    };
    let profile: Profile = profile.parse().map_err(anyhow::Error::msg)?;
    let (ae, _) = latentlab::train::load_finetuned(std::path::Path::new(run), Device::Cpu)?;
    let test = Dataset::load(ae.config.dataset, Split::Test, profile)?;
    let codes = analysis::tensor_to_matrix(&analysis::encode_dataset(&ae.model, &test))?;
    let mut text = String::from("label");
    for j in 0..codes.ncols() {
        text.push_str(&format!(",x{j}"));
    }
    text.push('\n');
    for (i, label) in test.label_vec().iter().enumerate() {
        text.push_str(&label.to_string());
        for v in codes.row(i) {
            text.push_str(&format!(",{v}"));
        }
        text.push('\n');
    }
    std::fs::File::create(out)?.write_all(text.as_bytes())?;
    println!(
        "wrote {} codes of {} dimensions to {out}",
        codes.nrows(),
        codes.ncols()
    );
    Ok(())
}
