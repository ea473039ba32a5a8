//! Every named defect of every family this server serves, as one list to name them by
//! (`"code_reusable".parse::<Fault>()`) and to iterate ([`Fault::ALL`]). Each is declared
//! beside what it bends, in the kernel or in its family; a running server switches on
//! only its own family's (`RulePack::faults`), by `POST /__test/fault` or `--fault`.
//! Off by default and unreachable without `--test-controls`.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::LazyLock;

use crate::core::fault::FaultSpec;

/// One named defect. Each breaks the clause it names, and only that.
#[derive(Clone, Copy)]
pub struct Fault(&'static FaultSpec);

impl Fault {
    /// Every family's faults, each once, in the order the families list them.
    pub const ALL: AllFaults = AllFaults;

    /// The name used on the wire: `{"fault": "code_reusable"}`.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The clause the defect breaks.
    pub fn clause(self) -> &'static str {
        self.0.clause
    }

    /// What the defect does, for people reading a fault table.
    pub fn description(self) -> &'static str {
        self.0.description
    }
}

/// [`Fault::ALL`]: reads as a slice of every fault.
#[derive(Debug, Clone, Copy)]
pub struct AllFaults;

impl Deref for AllFaults {
    type Target = [Fault];

    fn deref(&self) -> &[Fault] {
        static ALL: LazyLock<Vec<Fault>> = LazyLock::new(|| {
            let mut all: Vec<Fault> = Vec::new();
            for pack in crate::families::ALL {
                for spec in pack.faults() {
                    if !all.iter().any(|f| f.name() == spec.name) {
                        all.push(Fault(spec));
                    }
                }
            }
            all
        });
        &ALL
    }
}

impl PartialEq for Fault {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Fault {}

impl std::hash::Hash for Fault {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown fault `{s}`; known faults: {}",
                    Fault::ALL
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are unique across families (a name names one defect, whichever family runs),
    /// and every fault a family lists is found by its name.
    #[test]
    fn every_fault_has_one_name() {
        for pack in crate::families::ALL {
            for spec in pack.faults() {
                let found: Fault = spec.name.parse().unwrap();
                assert!(
                    std::ptr::eq(found.0, *spec),
                    "two faults are named {}",
                    spec.name
                );
            }
        }
        assert!("no_such_fault".parse::<Fault>().is_err());
    }
}
