//! What differs between families on the client's side: how an error answer reads. One
//! module per family; a new family adds its file and one `pub mod` line here.

pub mod enterprise;
pub mod flexslot;
pub mod punchplay;
