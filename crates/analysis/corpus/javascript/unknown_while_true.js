// A loop that ends on a random event: no bound can be given.
// expect: rollUntilSix unknown
function rollUntilSix() {
  let rolls = 0;
  while (true) {
    rolls++;
    if (Math.floor(Math.random() * 6) === 5) break;
  }
  return rolls;
}
