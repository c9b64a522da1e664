/** Bounds of --gen-size: the style network's working short side (config generator.size). */
export const GEN_SIZE_MIN = 16;
export const GEN_SIZE_MAX = 4096;
