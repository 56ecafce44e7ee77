//! Models: the convolutional autoencoder, the matcher (latent → classes), GANs and the MNIST
//! classifier that scores generated digits. Each is a plain struct built from an `nn::Path`.

pub mod autoencoder;

pub use autoencoder::{Autoencoder, AutoencoderArch, OutputActivation};
pub mod matcher;
pub use matcher::Matcher;
pub mod gan;
pub mod spectral;
pub use gan::{Discriminator, GanArch, GanKind, Generator, Heads, WeightInit};
pub mod classifier;
pub use classifier::{ClassifierArch, DigitClassifier};
