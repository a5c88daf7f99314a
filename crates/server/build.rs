//! Rebuild when the web app's build output changes, so a release binary always embeds the
//! current `web/dist` (rust-embed includes the files at compile time).

fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
