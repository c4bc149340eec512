//! The schema's SDL is committed in `graphql/schema.graphql`, so a change to the API shows in
//! review. This fails when the two differ; `ATOLL_UPDATE_SCHEMA=1 cargo test -p atoll-graphql
//! --test schema_is_committed` rewrites the file.
#![allow(clippy::unwrap_used, clippy::panic)]

#[test]
fn committed_sdl_matches_the_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let sdl = atoll_graphql::schema::sdl();
    if std::env::var_os("ATOLL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != sdl {
        panic!(
            "graphql/schema.graphql is not the current schema; run \
             `ATOLL_UPDATE_SCHEMA=1 cargo test -p atoll-graphql --test schema_is_committed` \
             and commit the file"
        );
    }
}
