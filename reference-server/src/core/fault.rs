//! Named defects, declared beside what they bend (issue 20 item 2): a fault of state is a
//! wrapper of one component, a fault of shape a bend of the answer the http shell's fault
//! layer applies. The test controls switch one on (`POST /__test/fault`) so that the
//! conformance suite can prove it notices it.
//!
//! A rule never asks which fault is on. It asks [`Bends::pick`] for the implementation of
//! the component it calls, with the component as written: the wrapper of the fault that is
//! on if that fault bends this component, else the component as written. So a component,
//! its wrappers and their faults live in one file, the flow's, and nothing lists them all.

use std::any::Any;
use std::fmt;

/// One named defect. Each breaks the clause it names, and only that.
pub struct FaultSpec {
    /// The name on the wire: `{"fault": "code_reusable"}`.
    pub name: &'static str,
    /// The clause the defect breaks.
    pub clause: &'static str,
    /// What the defect does, for people reading a fault table.
    pub description: &'static str,
    bend: Bend,
}

/// What a fault bends.
enum Bend {
    /// A component: the `&'static dyn Component` that replaces the one as written, held as
    /// [`Any`] so that a component's file needs to know no list of components.
    Component(&'static (dyn Any + Send + Sync)),
    /// The answer's shape, after the handler answered.
    Shape(Shape),
}

/// The shapes of answer a fault can bend, applied by the http shell's fault layer from
/// the route's facts and the error the answer carries. Each is generic; which clause it
/// breaks is the fault's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `invalid_client` answers 400 instead of 401.
    InvalidClientAs400,
    /// At an endpoint dispatching on `grant_type`, `unsupported_grant_type` answers
    /// `invalid_request`.
    UnsupportedGrantTypeAsInvalidRequest,
    /// `invalid_client` after HTTP Basic carries no `WWW-Authenticate: Basic`.
    NoBasicChallenge,
    /// A 401 carries no `WWW-Authenticate: Bearer`.
    NoBearerChallenge,
    /// A 429 carries no `Retry-After`.
    NoRetryAfter,
    /// A token answer carries no `Cache-Control: no-store`.
    Cacheable,
    /// Token and device-code answers leave out `scope`.
    ScopeOmitted,
    /// The approval redirect leaves out `state`.
    ApprovalWithoutState,
    /// Error redirects leave out `request_id`.
    ErrorRedirectWithoutRequestId,
    /// Error redirects leave out `state`.
    ErrorRedirectWithoutState,
    /// The request-id header of an error differs from the body's.
    RequestIdMismatch,
}

impl FaultSpec {
    /// A fault of state: `component` (a `&&'static dyn Component`, see [`bends!`])
    /// replaces the component as written while the fault is on.
    pub const fn bending(
        name: &'static str,
        clause: &'static str,
        description: &'static str,
        component: &'static (dyn Any + Send + Sync),
    ) -> FaultSpec {
        FaultSpec {
            name,
            clause,
            description,
            bend: Bend::Component(component),
        }
    }

    /// A fault of shape, applied by the http shell's fault layer.
    pub const fn shaping(
        name: &'static str,
        clause: &'static str,
        description: &'static str,
        shape: Shape,
    ) -> FaultSpec {
        FaultSpec {
            name,
            clause,
            description,
            bend: Bend::Shape(shape),
        }
    }
}

impl fmt::Debug for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The replacement component of a fault of state: `bends!(dyn CodeStore = CodeReusable)`.
macro_rules! bends {
    (dyn $component:path = $wrapper:expr) => {
        &(&$wrapper as &'static (dyn $component + 'static))
    };
}
pub(crate) use bends;

/// The fault switched on, as the rules see it: only which implementation of a component
/// to call. Copied into every request; asking it takes no lock.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bends(Option<&'static FaultSpec>);

impl Bends {
    /// No fault: every component as written.
    pub const NONE: Bends = Bends(None);

    pub fn of(fault: Option<&'static FaultSpec>) -> Bends {
        Bends(fault)
    }

    /// The implementation of the component `T` to call: the wrapper of the fault that is
    /// on when it bends `T`, else `as_written`.
    #[inline]
    pub fn pick<T: ?Sized + 'static>(self, as_written: &'static T) -> &'static T {
        match self.0 {
            Some(FaultSpec {
                bend: Bend::Component(wrapper),
                ..
            }) => wrapper
                .downcast_ref::<&'static T>()
                .copied()
                .unwrap_or(as_written),
            _ => as_written,
        }
    }

    /// The shape the fault that is on bends, if it is a fault of shape.
    pub fn shape(self) -> Option<Shape> {
        match self.0 {
            Some(FaultSpec {
                bend: Bend::Shape(shape),
                ..
            }) => Some(*shape),
            _ => None,
        }
    }

    /// Whether the fault that is on bends `shape`.
    pub fn shapes(self, shape: Shape) -> bool {
        self.shape() == Some(shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Door: Sync {
        fn opens(&self) -> bool {
            false
        }
    }
    struct Locked;
    impl Door for Locked {}
    struct Ajar;
    impl Door for Ajar {
        fn opens(&self) -> bool {
            true
        }
    }
    trait Window: Sync {}
    struct Shut;
    impl Window for Shut {}

    static AJAR: FaultSpec =
        FaultSpec::bending("ajar", "X-1", "the door opens", bends!(dyn Door = Ajar));
    static LOUD: FaultSpec =
        FaultSpec::shaping("loud", "X-2", "no Retry-After", Shape::NoRetryAfter);

    #[test]
    fn a_fault_bends_its_component_and_nothing_else() {
        assert!(!Bends::NONE.pick::<dyn Door>(&Locked).opens());
        let on = Bends::of(Some(&AJAR));
        assert!(on.pick::<dyn Door>(&Locked).opens());
        // Another component is as written, and no shape is bent.
        let _: &dyn Window = on.pick::<dyn Window>(&Shut);
        assert_eq!(on.shape(), None);
        let loud = Bends::of(Some(&LOUD));
        assert!(!loud.pick::<dyn Door>(&Locked).opens());
        assert!(loud.shapes(Shape::NoRetryAfter));
    }
}
