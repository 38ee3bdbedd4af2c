//! `#[endure::workflow]` and `#[endure::activity]`: turn an async function into a workflow
//! or activity *definition* — a type of the same name carrying its type name (the function's
//! name unless `name = "…"` says otherwise, spec §5.4.4 and §5.6.3), its argument and result
//! types, and a way to run it — so workers register it with `worker.register::<f>()`, clients
//! start it with `client.start::<f>(…)` and workflows call it with `ctx.run_activity::<f>(…)`,
//! all checked at compile time.
//!
//! The function takes its context first, then any number of arguments (several become a
//! tuple — one JSON array payload from Rust callers; Go's one-payload-per-argument decodes
//! too), and returns `Result<T, E>`.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{FnArg, GenericArgument, ItemFn, LitStr, PathArguments, ReturnType, Type};

/// Makes an async workflow function a `WorkflowDefinition` of the same name.
///
/// ```text
/// #[endure::workflow]
/// async fn order_workflow(ctx: WorkflowContext, user: String) -> Result<String, WorkflowError> { … }
/// // type name "order_workflow"; `#[endure::workflow(name = "OrderWorkflow")]` renames it.
/// ```
#[proc_macro_attribute]
pub fn workflow(attribute: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Workflow, attribute, item)
}

/// Makes an async activity function an `ActivityDefinition` (and `ActivityImplementation`)
/// of the same name.
///
/// ```text
/// #[endure::activity(name = "SendEmail")]
/// async fn send_email(ctx: ActivityContext, user: String, subject: String) -> Result<String, ActivityError> { … }
/// ```
#[proc_macro_attribute]
pub fn activity(attribute: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Activity, attribute, item)
}

#[derive(Clone, Copy)]
enum Kind {
    Workflow,
    Activity,
}

/// The attribute's arguments: nothing, or `name = "…"`.
struct Attribute {
    name: Option<LitStr>,
}

impl Parse for Attribute {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(Self { name: None });
        }
        let key: syn::Ident = input.parse()?;
        if key != "name" {
            return Err(syn::Error::new(key.span(), "expected `name = \"…\"`"));
        }
        input.parse::<syn::Token![=]>()?;
        let name: LitStr = input.parse()?;
        if name.value().is_empty() {
            return Err(syn::Error::new(name.span(), "a type name cannot be empty"));
        }
        Ok(Self { name: Some(name) })
    }
}

fn expand(kind: Kind, attribute: TokenStream, item: TokenStream) -> TokenStream {
    let attribute = syn::parse_macro_input!(attribute as Attribute);
    let function = syn::parse_macro_input!(item as ItemFn);
    match definition(kind, attribute, &function) {
        Ok(definition) => quote!(#function #definition).into(),
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#function #error).into()
        }
    }
}

fn definition(
    kind: Kind,
    attribute: Attribute,
    function: &ItemFn,
) -> syn::Result<proc_macro2::TokenStream> {
    let signature = &function.sig;
    let ident = &signature.ident;
    if signature.asyncness.is_none() {
        return Err(syn::Error::new_spanned(
            signature.fn_token,
            "a workflow or activity function must be `async`",
        ));
    }
    if !signature.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &signature.generics,
            "a workflow or activity function cannot be generic: its type name must be one",
        ));
    }
    let mut parameters = signature.inputs.iter();
    match parameters.next() {
        Some(FnArg::Typed(_)) => {}
        _ => {
            return Err(syn::Error::new_spanned(
                signature,
                "the first parameter must be the context (WorkflowContext or ActivityContext)",
            ));
        }
    }
    let mut argument_types = Vec::new();
    for parameter in parameters {
        match parameter {
            FnArg::Typed(typed) => argument_types.push((*typed.ty).clone()),
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new_spanned(
                    receiver,
                    "methods are registered with a closure holding their struct",
                ));
            }
        }
    }
    let output = ok_type(&signature.output)?;
    let name = attribute
        .name
        .unwrap_or_else(|| LitStr::new(&ident.to_string(), Span::call_site()));
    let arguments: Vec<_> = (0..argument_types.len())
        .map(|index| format_ident!("argument_{index}"))
        .collect();
    let input = match argument_types.as_slice() {
        [single] => quote!(#single),
        several => quote!((#(#several,)*)),
    };
    let destructure = match arguments.as_slice() {
        [single] => quote!(let #single = input;),
        several => quote!(let (#(#several,)*) = input;),
    };
    let visibility = &function.vis;
    let documentation = match kind {
        Kind::Workflow => format!("The workflow definition of [`{ident}()`]."),
        Kind::Activity => format!("The activity definition of [`{ident}()`]."),
    };
    Ok(match kind {
        Kind::Workflow => quote! {
            #[doc = #documentation]
            #[allow(non_camel_case_types)]
            #visibility struct #ident {}

            impl ::endure::workflow::WorkflowDefinition for #ident {
                const NAME: &'static str = #name;
                type Input = #input;
                type Output = #output;

                fn run(
                    ctx: ::endure::workflow::WorkflowContext,
                    input: Self::Input,
                ) -> ::endure::workflow::BoxFuture<
                    ::std::result::Result<Self::Output, ::endure::workflow::WorkflowError>,
                > {
                    #destructure
                    ::std::boxed::Box::pin(#ident(ctx, #(#arguments),*))
                }
            }

            impl ::endure::Registration for #ident {
                fn register_with(worker: &mut ::endure::Worker) {
                    worker.register_workflow_definition::<Self>();
                }
            }
        },
        Kind::Activity => quote! {
            #[doc = #documentation]
            #[allow(non_camel_case_types)]
            #visibility struct #ident {}

            impl ::endure::activity::ActivityDefinition for #ident {
                const NAME: &'static str = #name;
                type Input = #input;
                type Output = #output;
            }

            impl ::endure::activity::ActivityImplementation for #ident {
                fn run(
                    ctx: ::endure::ActivityContext,
                    input: Self::Input,
                ) -> ::endure::workflow::BoxFuture<
                    ::std::result::Result<Self::Output, ::endure::workflow::ActivityError>,
                > {
                    #destructure
                    ::std::boxed::Box::pin(#ident(ctx, #(#arguments),*))
                }
            }

            impl ::endure::Registration for #ident {
                fn register_with(worker: &mut ::endure::Worker) {
                    worker.register_activity::<Self, _, _>(
                        <Self as ::endure::activity::ActivityImplementation>::run,
                    );
                }
            }
        },
    })
}

/// `T` of a `Result<T, E>` return type.
fn ok_type(output: &ReturnType) -> syn::Result<Type> {
    let error = || {
        syn::Error::new_spanned(
            output,
            "a workflow or activity function returns `Result<T, WorkflowError>` or \
             `Result<T, ActivityError>`",
        )
    };
    let ReturnType::Type(_, ty) = output else {
        return Err(error());
    };
    let Type::Path(path) = &**ty else {
        return Err(error());
    };
    let last = path.path.segments.last().ok_or_else(error)?;
    if last.ident != "Result" {
        return Err(error());
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return Err(error());
    };
    match arguments.args.first() {
        Some(GenericArgument::Type(ok)) => Ok(ok.clone()),
        _ => Err(error()),
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn check(function: ItemFn) -> Result<String, String> {
        definition(Kind::Workflow, Attribute { name: None }, &function)
            .map(|tokens| tokens.to_string())
            .map_err(|error| error.to_string())
    }

    #[test]
    fn names_arguments_and_output_come_from_the_signature() {
        let tokens = check(parse_quote! {
            async fn order(ctx: WorkflowContext, user: String, count: u32) -> Result<Vec<u8>, WorkflowError> {}
        })
        .unwrap();
        assert!(
            tokens.contains("const NAME : & 'static str = \"order\""),
            "{tokens}"
        );
        assert!(tokens.contains("type Input = (String , u32 ,)"), "{tokens}");
        assert!(tokens.contains("type Output = Vec < u8 >"), "{tokens}");
        let none = check(parse_quote! {
            async fn tick(ctx: WorkflowContext) -> Result<(), WorkflowError> {}
        })
        .unwrap();
        assert!(none.contains("type Input = ()"), "{none}");
    }

    #[test]
    fn a_name_attribute_renames() {
        let attribute: Attribute = syn::parse_str("name = \"OrderWorkflow\"").unwrap();
        let function: ItemFn = parse_quote! {
            async fn order(ctx: WorkflowContext) -> Result<(), WorkflowError> {}
        };
        let tokens = definition(Kind::Activity, attribute, &function)
            .unwrap()
            .to_string();
        assert!(tokens.contains("\"OrderWorkflow\""), "{tokens}");
        assert!(syn::parse_str::<Attribute>("title = \"x\"").is_err());
        assert!(syn::parse_str::<Attribute>("name = \"\"").is_err());
    }

    #[test]
    fn wrong_signatures_are_compile_errors_saying_why() {
        let not_async = check(parse_quote! {
            fn order(ctx: WorkflowContext) -> Result<(), WorkflowError> {}
        });
        assert!(not_async.unwrap_err().contains("must be `async`"));
        let no_result = check(parse_quote! {
            async fn order(ctx: WorkflowContext) -> String {}
        });
        assert!(no_result.unwrap_err().contains("returns `Result<T"));
        let no_context = check(parse_quote! {
            async fn order() -> Result<(), WorkflowError> {}
        });
        assert!(
            no_context
                .unwrap_err()
                .contains("first parameter must be the context")
        );
        let generic = check(parse_quote! {
            async fn order<T>(ctx: WorkflowContext, value: T) -> Result<(), WorkflowError> {}
        });
        assert!(generic.unwrap_err().contains("cannot be generic"));
    }
}
