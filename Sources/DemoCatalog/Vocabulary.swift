/// The words the demo store is made of: departments, categories with their product nouns and a
/// typical price, and brands per department. Hand-written to read like a general-merchandise shop.
struct Vocabulary {
  struct Category {
    let path: [String]
    let nouns: [String]
    let medianPrice: Double
    /// Categories bought together with this one (drives co-occurrence in the synthetic history).
    let complements: [String]
  }

  static let adjectives = [
    "classic", "modern", "vintage", "compact", "deluxe", "eco", "premium", "everyday", "rustic", "minimal",
    "retro", "nordic", "industrial", "soft", "bold", "slim", "heavy-duty", "travel", "family", "mini",
  ]
  static let materials = [
    "ceramic", "stainless steel", "bamboo", "cotton", "linen", "oak", "glass", "wool", "leather", "recycled",
    "cast iron", "silicone", "walnut", "enamel", "stoneware", "copper",
  ]
  static let colours = [
    "white", "black", "grey", "navy", "sage", "terracotta", "mustard", "blush", "charcoal", "ivory", "teal",
    "red", "forest green", "sand",
  ]

  static let brandsByDepartment: [String: [String]] = [
    "home": ["Hearth & Co", "Nordhem", "Casa Lumen", "Oakfield", "Maison Vert", "Kiln Street"],
    "kitchen": ["Copperpot", "Zest Kitchen", "Brew Bros", "Chef Line", "Panterra", "Ferro"],
    "garden": ["Greenroot", "Terra Nova", "Bloomwell", "Fieldcraft"],
    "fashion": ["Northwind", "Loom & Lane", "Urban Thread", "Stitchworks", "Cove"],
    "toys": ["Tinker Town", "Blockhead", "Wonderkin", "Puzzle Owl"],
    "stationery": ["Inkwell", "Paperlane", "Notable", "Quillcraft"],
    "sports": ["Stride", "Summit Gear", "Aquaflex", "Courtline"],
  ]

  static let categories: [Category] = [
    Category(path: ["home", "lighting", "lamps"], nouns: ["table lamp", "floor lamp", "desk lamp", "pendant light"],
             medianPrice: 45, complements: ["home/lighting/bulbs", "home/decor/cushions"]),
    Category(path: ["home", "lighting", "bulbs"], nouns: ["LED bulb", "filament bulb", "smart bulb"],
             medianPrice: 8, complements: ["home/lighting/lamps"]),
    Category(path: ["home", "decor", "candles"], nouns: ["scented candle", "pillar candle", "tealight set", "candle holder"],
             medianPrice: 12, complements: ["home/decor/vases", "home/decor/cushions"]),
    Category(path: ["home", "decor", "vases"], nouns: ["vase", "bud vase", "planter pot"],
             medianPrice: 22, complements: ["garden/plants/seeds", "home/decor/candles"]),
    Category(path: ["home", "decor", "cushions"], nouns: ["cushion", "throw", "cushion cover", "blanket"],
             medianPrice: 25, complements: ["home/decor/candles", "home/lighting/lamps"]),
    Category(path: ["home", "bath", "towels"], nouns: ["bath towel", "hand towel", "bath mat", "bathrobe"],
             medianPrice: 18, complements: ["home/bath/accessories"]),
    Category(path: ["home", "bath", "accessories"], nouns: ["soap dispenser", "toothbrush holder", "shower caddy"],
             medianPrice: 14, complements: ["home/bath/towels"]),
    Category(path: ["kitchen", "coffee", "machines"], nouns: ["espresso machine", "pour-over kettle", "french press", "coffee grinder"],
             medianPrice: 85, complements: ["kitchen/coffee/beans", "kitchen/tableware/mugs"]),
    Category(path: ["kitchen", "coffee", "beans"], nouns: ["espresso beans", "filter coffee", "decaf beans", "single origin beans"],
             medianPrice: 11, complements: ["kitchen/coffee/machines", "kitchen/tableware/mugs"]),
    Category(path: ["kitchen", "tableware", "mugs"], nouns: ["mug", "travel mug", "espresso cup", "tea cup"],
             medianPrice: 9, complements: ["kitchen/coffee/beans", "kitchen/tableware/plates"]),
    Category(path: ["kitchen", "tableware", "plates"], nouns: ["dinner plate", "side plate", "serving bowl", "pasta bowl"],
             medianPrice: 16, complements: ["kitchen/tableware/mugs", "kitchen/cookware/pans"]),
    Category(path: ["kitchen", "cookware", "pans"], nouns: ["frying pan", "saucepan", "wok", "dutch oven"],
             medianPrice: 40, complements: ["kitchen/cookware/utensils"]),
    Category(path: ["kitchen", "cookware", "utensils"], nouns: ["spatula", "whisk", "knife set", "chopping board"],
             medianPrice: 15, complements: ["kitchen/cookware/pans"]),
    Category(path: ["garden", "plants", "seeds"], nouns: ["herb seed kit", "wildflower seeds", "tomato seeds"],
             medianPrice: 5, complements: ["garden/tools/hand-tools", "home/decor/vases"]),
    Category(path: ["garden", "tools", "hand-tools"], nouns: ["trowel", "pruning shears", "garden gloves", "watering can"],
             medianPrice: 14, complements: ["garden/plants/seeds"]),
    Category(path: ["fashion", "accessories", "bags"], nouns: ["tote bag", "backpack", "crossbody bag", "weekender bag"],
             medianPrice: 38, complements: ["fashion/accessories/scarves"]),
    Category(path: ["fashion", "accessories", "scarves"], nouns: ["scarf", "beanie", "gloves"],
             medianPrice: 19, complements: ["fashion/accessories/bags"]),
    Category(path: ["toys", "games", "puzzles"], nouns: ["jigsaw puzzle", "3D puzzle", "brain teaser"],
             medianPrice: 17, complements: ["toys/games/board-games"]),
    Category(path: ["toys", "games", "board-games"], nouns: ["board game", "card game", "party game"],
             medianPrice: 27, complements: ["toys/games/puzzles"]),
    Category(path: ["stationery", "paper", "notebooks"], nouns: ["notebook", "journal", "sketchbook", "planner"],
             medianPrice: 12, complements: ["stationery/writing/pens"]),
    Category(path: ["stationery", "writing", "pens"], nouns: ["fountain pen", "gel pen set", "brush pen", "pencil set"],
             medianPrice: 10, complements: ["stationery/paper/notebooks"]),
    Category(path: ["sports", "fitness", "yoga"], nouns: ["yoga mat", "yoga block", "resistance band", "foam roller"],
             medianPrice: 24, complements: ["sports/fitness/bottles"]),
    Category(path: ["sports", "fitness", "bottles"], nouns: ["water bottle", "insulated flask", "shaker bottle"],
             medianPrice: 16, complements: ["sports/fitness/yoga"]),
  ]
}
