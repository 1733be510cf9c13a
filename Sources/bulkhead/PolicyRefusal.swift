/// A policy refusal (exit 65): what was refused and which flag refused it.
struct PolicyRefusal: Error, CustomStringConvertible {
    let description: String
}
