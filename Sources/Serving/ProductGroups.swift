import FunnelCore
import IndexFormat

/// Product groups (the catalog attribute `group`: sizes and colours of one product share it): the
/// first, best-ranked item of a group is shown, its siblings are not. A catalog without groups costs
/// one keyword lookup per request; otherwise only the items looked at are decoded, not every candidate.
struct ProductGroups {
  let generation: IndexGeneration
  let active: Bool
  var seen: Set<String> = []

  init(_ generation: IndexGeneration) {
    self.generation = generation
    self.active = generation.keywords.hasField("attr.group")
  }

  /// Whether `doc` is the first item of its group seen (items without a group always are).
  mutating func firstOfItsGroup(_ doc: DocID) -> Bool {
    guard active, let group = generation.items.attribute(doc, "group")?.keyword else { return true }
    return seen.insert(group).inserted
  }
}
