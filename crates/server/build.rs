//! Rebuild when the web app's build output changes, so a release binary always embeds the
//! current `web/dist` (rust-embed includes the files at compile time), and a debug binary
//! built before `web/dist` existed picks it up once it does (rust-embed resolves the
//! folder when compiling).

fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
