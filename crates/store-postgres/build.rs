fn main() {
    // Re-embed the migrations whenever one is added or edited.
    println!("cargo:rerun-if-changed=migrations");
}
