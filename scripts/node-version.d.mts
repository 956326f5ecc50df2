/** Types of `node-version.mjs` (plain JavaScript so that an old Node can run it). */
export declare const MINIMUM_VERSIONS: readonly (readonly [number, number, number])[];
export declare const MINIMUM_DESCRIPTION: string;
export declare function parseVersion(version: string): [number, number, number] | undefined;
export declare function supportsTypeStripping(version: string): boolean;
