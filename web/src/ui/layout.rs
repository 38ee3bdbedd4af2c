//! The page shell every page shares: head, top bar, and the main column.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A whole page: `title` in the tab, the top bar with `namespace`'s links, then `body`.
pub(crate) fn page(title: &str, namespace: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Endure" }
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header.topbar {
                    a.brand href="/" { span.logo { (PreEscaped("&#9679;")) } " Endure" }
                    nav {
                        a href={ "/namespaces/" (namespace) "/workflows" } { "Workflows" }
                        a href={ "/namespaces/" (namespace) "/schedules" } { "Schedules" }
                        a href={ "/namespaces/" (namespace) "/deployments" } { "Deployments" }
                        a href="/namespaces" { "Namespaces" }
                        a href="/api/openapi.json" { "API" }
                    }
                    span.namespace title="Namespace" { (namespace) }
                }
                main { (body) }
            }
        }
    }
}

/// A page that says something went wrong, and what to do.
pub(crate) fn problem(title: &str, namespace: &str, message: &str) -> Markup {
    page(
        title,
        namespace,
        html! {
            h1 { (title) }
            p.error id="problem" { (message) }
            p { a href={ "/namespaces/" (namespace) "/workflows" } { "Back to the workflows" } }
        },
    )
}
