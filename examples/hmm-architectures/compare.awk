# compare.awk: the transition matrix of a fitted model against the true one.
#
#     awk -v n=ROWS -f compare.awk truth.yaml fit.yaml
#
# Both files are hmm-fit/hmm-sample model files with one categorical
# channel.  The fitted states are matched to the true ones by the
# permutation that brings their emission rows closest (exhaustive, K <= 7);
# then for every transition prints nothing but one summary line:
#   K, the largest |a_fit - a_true|, and the largest of those divided by
#   sqrt(a (1 - a) / n_i), with n_i = n pi_i the expected number of steps in
#   state i (pi the truth's stationary distribution, n the data's steps): the
#   error in units of the standard error the transitions would have if the
#   states were observed (a lower bound on the real one).
function row(line, arr,    s, m, i, parts) {
    s = line
    sub(/^[^[]*\[/, "", s)
    sub(/\].*$/, "", s)
    m = split(s, parts, /, */)
    for (i = 1; i <= m; i++)
        arr[i] = parts[i] + 0
    return m
}
FNR == 1 { f++; sect = "" }
/^transitions:/ { sect = "t"; r = 0; next }
/probabilities:/ { sect = "p"; r = 0; next }
/^[a-z]/ && !/^transitions:/ { if (sect == "t") sect = "" }
sect == "t" && /^ *- \[/ {
    r++
    m = row($0, v)
    for (j = 1; j <= m; j++) A[f, r, j] = v[j]
    K[f] = m
    next
}
sect == "p" && /^ *- \[/ {
    r++
    m = row($0, v)
    for (j = 1; j <= m; j++) P[f, r, j] = v[j]
    M[f] = m
    next
}
sect == "p" && !/^ *- \[/ { sect = "" }
function dist(i, k,    j, d) {
    d = 0
    for (j = 1; j <= M[1]; j++) d += (P[1, i, j] - P[2, k, j]) ^ 2
    return d
}
# best permutation perm[i] (truth i -> fit perm[i]) by recursion
function search(i, cost,    k) {
    if (cost >= best) return
    if (i > KK) { best = cost; for (k = 1; k <= KK; k++) bp[k] = cur[k]; return }
    for (k = 1; k <= KK; k++)
        if (!used[k]) { used[k] = 1; cur[i] = k; search(i + 1, cost + dist(i, k)); used[k] = 0 }
}
END {
    KK = K[1]
    if (K[2] != KK) { printf "K %d fitted with %d states: not compared\n", KK, K[2]; exit }
    best = 1e300
    search(1, 0)
    # stationary distribution of the truth by power iteration
    for (i = 1; i <= KK; i++) pi[i] = 1 / KK
    for (it = 0; it < 20000; it++) {
        for (j = 1; j <= KK; j++) { q[j] = 0; for (i = 1; i <= KK; i++) q[j] += pi[i] * A[1, i, j] }
        for (j = 1; j <= KK; j++) pi[j] = q[j]
    }
    worst = 0; wz = 0
    for (i = 1; i <= KK; i++)
        for (j = 1; j <= KK; j++) {
            a = A[1, i, j]; b = A[2, bp[i], bp[j]]; d = b - a; if (d < 0) d = -d
            if (d > worst) worst = d
            if (a > 0 && a < 1) { z = d / sqrt(a * (1 - a) / (n * pi[i])); if (z > wz) wz = z }
        }
    printf "K %d: largest |a_fit - a_true| %.4f, %.1f standard errors (observed-state)\n", KK, worst, wz
}
