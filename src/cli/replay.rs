//! `peercode replay export ROOM` / `peercode replay import FILE`: a room's recording as one
//! self-contained, versioned file (`docs/recording-format.md`), and back into a new room.

use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use peercode_collab::Limits;
use peercode_server::replay::{exports, recording};
use std::sync::Arc;

use peercode_store::{BlobStore, Store};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// Where the history lives: the same flags as `peercode serve`.
#[derive(clap::Args)]
struct StoreArgs {
    /// Directory of the embedded database.
    #[arg(long, env = "PEERCODE_DATA_DIR", default_value = "./peercode-data")]
    data_dir: PathBuf,
    /// The history is in PostgreSQL instead: `postgres://user@host:5432/database`.
    #[arg(long, env = "PEERCODE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Old keyframes (and exported recordings) are in blob storage: `s3://BUCKET?endpoint=URL`
    /// or `file://DIR`, as `peercode serve --blob-url`.
    #[arg(long, env = "PEERCODE_BLOB_URL")]
    blob_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Write a room's recording to a file (or stdout).
    Export {
        room: String,
        /// Output file; `-` or absent: standard output.
        #[arg(short, long, conflicts_with = "to_blobs")]
        output: Option<PathBuf>,
        /// Write it into blob storage (`--blob-url`) beside the server's exports instead,
        /// and print its name (as `POST /api/rooms/{room}/recordings` does).
        #[arg(long)]
        to_blobs: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Create a replayable room from a recording file and print its name.
    Import {
        file: PathBuf,
        /// Name of the new room (default: the recorded room's name if free, else a new one).
        #[arg(long)]
        room: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// Largest document accepted, in bytes (as `peercode serve`).
        #[arg(long, env = "PEERCODE_MAX_DOCUMENT_BYTES", default_value_t = 16 * 1024 * 1024)]
        max_document_bytes: usize,
    },
}

fn open(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    let blobs = match &args.blob_url {
        Some(url) => Some(Arc::new(
            BlobStore::open(url).context("while opening blob storage (--blob-url)")?,
        )),
        None => None,
    };
    peercode_store::open_beside_server(args.database_url.as_deref(), &args.data_dir, blobs)
        .with_context(|| match &args.database_url {
            Some(_) => "while opening the PostgreSQL store".to_string(),
            None => format!("while opening the store in {}", args.data_dir.display()),
        })
}

pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Export {
            room,
            output,
            to_blobs: true,
            store,
        } => {
            let store = open(&store)?;
            let blobs = store
                .blobs()
                .cloned()
                .context("--to-blobs needs blob storage: give --blob-url")?;
            let exported = exports::export_to_blobs(&*store, &blobs, &room, usize::MAX)?;
            store.close()?;
            drop(output);
            eprintln!(
                "exported room {room} to {}/{}: {} updates, {} events",
                blobs.target(),
                exported.key,
                exported.summary.updates,
                exported.summary.events
            );
            println!("{}", exported.name);
        }
        Command::Export {
            room,
            output,
            to_blobs: false,
            store,
        } => {
            let store = open(&store)?;
            let summary = match output.filter(|p| p.as_os_str() != "-") {
                Some(path) => {
                    // Written beside the target and renamed, so a failed export never
                    // leaves a half-written file under the name asked for.
                    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
                    let mut file = tempfile::NamedTempFile::new_in(dir.unwrap_or(".".as_ref()))
                        .context("while creating the output file")?;
                    let summary = recording::export(&*store, &room, file.as_file_mut())?;
                    file.as_file_mut().flush()?;
                    file.persist(&path)
                        .with_context(|| format!("while writing {}", path.display()))?;
                    summary
                }
                None => recording::export(&*store, &room, &mut std::io::stdout().lock())?,
            };
            store.close()?;
            eprintln!(
                "exported room {}: {} updates, {} events",
                summary.room, summary.updates, summary.events
            );
        }
        Command::Import {
            file,
            room,
            store,
            max_document_bytes,
        } => {
            let input = std::fs::File::open(&file)
                .with_context(|| format!("while opening {}", file.display()))?;
            let store = open(&store)?;
            let summary = recording::import(
                &*store,
                &mut BufReader::new(input),
                room.as_deref(),
                Limits { max_document_bytes },
            )
            .with_context(|| format!("{} was not imported", file.display()))?;
            store.close()?;
            eprintln!(
                "imported {} updates and {} events",
                summary.updates, summary.events
            );
            println!("{}", summary.room);
        }
    }
    Ok(ExitCode::SUCCESS)
}
