// expect: sum O(n)
// expect: maxProfit O(n)
const stats = {
  sum(xs) {
    let t = 0;
    for (const x of xs) t += x;
    return t;
  },
};

function maxProfit(prices) {
  let min = Infinity, best = 0;
  prices.forEach((p) => {
    min = Math.min(min, p);
    best = Math.max(best, p - min);
  });
  return best;
}
