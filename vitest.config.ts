import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "default",
          include: ["test/**/*.test.ts"],
          exclude: ["test/interop/**", "test/large/**"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "interop",
          include: ["test/interop/**/*.test.ts"],
          testTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // Files past Node's size limits (> 2 GiB storages, > 4 GiB zip64), made on the fly as
        // sparse files in a temp dir; see docs/architecture.md for its time and disk use.
        test: {
          name: "large",
          include: ["test/large/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
