//! One module per subcommand; each exposes `Args` (clap) and `main(Args)`.

pub mod analyze;
pub mod doctor;
pub mod replay;
pub mod run;
pub mod serve;
pub mod worker;
