//! The route lists of docs/reference-server.md are the families' route tables, as
//! `http::routes::describe` writes them (issue 20 item 4): a route added, removed or
//! changed in a table fails here until the docs say the same. On failure the test prints
//! the section to paste.

use reference_server::http::routes::describe;

#[test]
fn the_docs_list_every_family_s_routes_as_its_table_declares_them() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/reference-server.md"
    ))
    .expect("docs/reference-server.md");
    let mut stale = Vec::new();
    for pack in reference_server::families::ALL {
        let profile = profile::builtin::find(pack.name())
            .expect("every served family has a built-in profile")
            .profile();
        let section = format!(
            "<!-- routes of {} (reference-server/tests/docs.rs) -->\n{}<!-- end of routes -->",
            pack.name(),
            describe(pack.routes(), &profile)
        );
        if !docs.contains(&section) {
            stale.push(section);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/reference-server.md does not list these routes as the tables declare them; paste:\n\n{}",
        stale.join("\n\n")
    );
}
