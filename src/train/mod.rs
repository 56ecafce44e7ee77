//! One small training core used by every experiment: optimizers, losses, learning-rate
//! schedules, per-epoch history, the NaN guard and progress reporting.

pub mod autoencoder;
pub mod branch;
pub mod classifier;
pub mod finetune;
pub mod fit;
pub mod fused_adam;
pub mod gan;
pub mod guard;
pub mod history;
pub mod optim;
pub mod progress;
pub mod resume;
pub mod search;
pub mod softmax_latent;
pub mod tensor_optim;

pub use autoencoder::{
    evaluate_reconstruction, load_autoencoder, train_autoencoder, train_or_load_autoencoder,
    AutoencoderConfig, AutoencoderMetrics, AutoencoderRun,
};
pub use branch::{branch_gan, Branched};
pub use classifier::{
    load_classifier, train_classifier, train_or_load_classifier, train_or_load_scorer,
    ClassifierConfig, ClassifierRun, Scorer,
};
pub use finetune::{
    classify, default_joint_step, finetune, finetune_or_load, finetune_or_load_with, finetune_with,
    load_finetuned, FinetuneConfig, FinetuneMetrics, FinetuneRun,
};
pub use fit::{
    fit, format_duration, reconstruction_metrics, run_epochs, EpochLoop, FitConfig, Fitted,
    RunFolder,
};
pub use gan::{
    load_gan, train_gan, train_gan_with, train_or_load_gan, train_or_load_gan_with, AdvLoss,
    DStepsFrom, GanConfig, GanRun, GanSteps,
};
pub use history::{check_finite, EpochRecord, History};
pub use optim::{LossKind, LrSchedule, Optimizer, OptimizerConfig, OptimizerKind};
pub use progress::Progress;
pub use search::{
    run_search, search_or_load, search_or_load_as, Candidate, FoldResult, SearchConfig,
    SearchResults, SearchRow, SearchSpace,
};
pub use softmax_latent::{
    load_softmax_latent, softmax_latent_or_train, train_softmax_latent, SoftmaxLatentConfig,
    SoftmaxLatentMetrics, SoftmaxLatentRun,
};
