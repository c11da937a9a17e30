//! Why a report or comparison could not be made. Each message is one line that names the file or label.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "history {path} not found; record runs with `saf-net client HOST --label L --profile P`, or name the history file"
    )]
    NotFound { path: PathBuf },
    #[error("cannot read history {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("history {path} line {line}: {message}")]
    Malformed { path: PathBuf, line: u64, message: String },
    #[error("history {path}: {message}")]
    MalformedFile { path: PathBuf, message: String },
    #[error("no throughput runs in {paths}; record some with `saf-net client HOST --label L --profile P`")]
    Empty { paths: String },
    #[error("no throughput runs labelled \"{label}\" in {paths}; labels present: {present}")]
    UnknownLabel {
        label: String,
        paths: String,
        present: String,
    },
    #[error(
        "no mesh run labelled or with the id \"{which}\" in {paths}; mesh runs present: {present}; record one with \
         `saf-net mesh NODE… --label L`"
    )]
    NoMesh {
        which: String,
        paths: String,
        present: String,
    },
    #[error(
        "mesh runs {before} and {after} have no pair of the same nodes measured completely in both; nothing to \
         compare (compare runs of the same nodes)"
    )]
    NothingInCommon { before: String, after: String },
    #[error(
        "no collective run labelled or with the id \"{which}\" in {paths}; collective runs present: {present}; record \
         one with `saf-net collective NODE… --label L`"
    )]
    NoCollective {
        which: String,
        paths: String,
        present: String,
    },
    #[error(
        "collective runs {before} and {after} have no (op, size) measured completely and verified in both; nothing \
         to compare (run the same ops and sizes)"
    )]
    NoCommonPoint { before: String, after: String },
    #[error("cannot write to output folder {path}")]
    OutputDir { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot draw {path}: {message}")]
    Render { path: PathBuf, message: String },
}
