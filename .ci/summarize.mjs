// Sums vitest JSON reports into the one closing line CI reads. A missing report counts as a failure.
import { existsSync, readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`ci: no report at ${file} (the tier crashed before reporting)`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0) - countSuitesWithFailedTests(report);
  if ((report.numTotalTests ?? 0) === 0) {
    console.error(`ci: ${file} ran no test`);
    failed += 1;
  }
}
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

// A suite that failed to load has no failed tests of its own; count it once. Suites whose failure
// is only failing tests are already counted through numFailedTests.
function countSuitesWithFailedTests(report) {
  return (report.testResults ?? []).filter(
    (s) => s.status === "failed" && (s.assertionResults ?? []).some((a) => a.status === "failed"),
  ).length;
}
