/* GHMM peer for bench/hmm/run.sh: discrete Baum-Welch with GHMM's C
 * library (Debian libghmm-dev) on a CSV of hmm-sample output.
 *
 *     ghmm_bw DATA.csv K M STEPS
 *     ghmm_bw DATA.csv K M STEPS INIT.yaml
 *
 * The second form writes the initial model as an hmm model file (so that
 * hmm-fit --init starts from the same numbers) and prints the
 * log-likelihood after each of STEPS one-step Baum-Welch calls, for an
 * iteration-by-iteration comparison with hmm-fit -v.
 *
 * Builds a fully connected K-state model over M symbols (a fixed random
 * start), runs ghmm_dmodel_baum_welch_nstep for STEPS iterations and prints
 * the CPU seconds it took.  run.sh times STEPS = 1 and STEPS = 6 and divides the
 * difference by 5, which also cancels the extra forward pass GHMM runs
 * after its last iteration (PEERS.md).
 *
 * libghmm.so references three ATLAS functions the package does not pull
 * in; the discrete path never calls them, so this links the static library
 * with stubs that abort if called. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ghmm/ghmm.h>
#include <ghmm/model.h>
#include <ghmm/reestimate.h>
#include <ghmm/sequence.h>

int clapack_dgetrf(void);
int clapack_dgetri(void);
int clapack_dpotrf(void);
int clapack_dgetrf(void) { abort(); }
int clapack_dgetri(void) { abort(); }
int clapack_dpotrf(void) { abort(); }

/* CPU seconds of this process (robust to other load on the machine). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: ghmm_bw DATA.csv K M STEPS [INIT.yaml]\n");
        return 2;
    }
    int K = atoi(argv[2]), M = atoi(argv[3]), steps = atoi(argv[4]);
    FILE *fp = fopen(argv[1], "r");
    if (!fp) {
        perror(argv[1]);
        return 1;
    }
    char line[256];
    if (!fgets(line, sizeof line, fp))
        return 1;
    long cap = 1 << 20, n = 0;
    int *seq = malloc(cap * sizeof *seq), *sym = malloc(cap * sizeof *sym);
    long s, t, st, x;
    while (fscanf(fp, "%ld,%ld,%ld,%ld", &s, &t, &st, &x) == 4) {
        if (n == cap) {
            cap *= 2;
            seq = realloc(seq, cap * sizeof *seq);
            sym = realloc(sym, cap * sizeof *sym);
        }
        seq[n] = (int)s;
        sym[n++] = (int)x;
    }
    fclose(fp);
    long nseq = seq[n - 1] + 1;
    ghmm_dseq *sq = ghmm_dseq_calloc(nseq);
    long i0 = 0;
    for (long q = 0; q < nseq; q++) {
        long i1 = i0;
        while (i1 < n && seq[i1] == q)
            i1++;
        sq->seq_len[q] = (int)(i1 - i0);
        sq->seq[q] = malloc((i1 - i0) * sizeof(int));
        memcpy(sq->seq[q], sym + i0, (i1 - i0) * sizeof(int));
        sq->seq_w[q] = 1;
        i0 = i1;
    }
    sq->total_w = (double)nseq;
    int *deg = malloc(K * sizeof *deg);
    for (int k = 0; k < K; k++)
        deg[k] = K;
    ghmm_dmodel *mo = ghmm_dmodel_calloc(M, K, GHMM_kDiscreteHMM, deg, deg);
    srand(1);
    for (int i = 0; i < K; i++) {
        ghmm_dstate *si = &mo->s[i];
        si->pi = 1.0 / K;
        si->in_states = si->out_states = K;
        double tot = 0;
        for (int j = 0; j < K; j++) {
            si->out_id[j] = j;
            si->in_id[j] = j;
            si->out_a[j] = (i == j ? 4.0 : 0.0) + (double)rand() / RAND_MAX;
            tot += si->out_a[j];
        }
        for (int j = 0; j < K; j++)
            si->out_a[j] /= tot;
        tot = 0;
        for (int m = 0; m < M; m++)
            tot += si->b[m] = 0.5 + (double)rand() / RAND_MAX;
        for (int m = 0; m < M; m++)
            si->b[m] /= tot;
    }
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            mo->s[j].in_a[i] = mo->s[i].out_a[j];
    if (argc == 6) {
        FILE *y = fopen(argv[5], "w");
        if (!y) {
            perror(argv[5]);
            return 1;
        }
        fprintf(y, "model: hmm\nversion: 1\nstates: %d\nstart: [", K);
        for (int i = 0; i < K; i++)
            fprintf(y, "%s%.17g", i ? ", " : "", mo->s[i].pi);
        fprintf(y, "]\ntransitions:\n");
        for (int i = 0; i < K; i++) {
            fprintf(y, "  - [");
            for (int j = 0; j < K; j++)
                fprintf(y, "%s%.17g", j ? ", " : "", mo->s[i].out_a[j]);
            fprintf(y, "]\n");
        }
        fprintf(y, "emission:\n  family: categorical\n  channels:\n    - symbols: %d\n      probabilities:\n", M);
        for (int i = 0; i < K; i++) {
            fprintf(y, "        - [");
            for (int m = 0; m < M; m++)
                fprintf(y, "%s%.17g", m ? ", " : "", mo->s[i].b[m]);
            fprintf(y, "]\n");
        }
        fclose(y);
        for (int it = 0; it < steps; it++) {
            ghmm_dmodel_baum_welch_nstep(mo, sq, 1, 0.0);
            printf("%.17g\n", ghmm_dmodel_likelihood(mo, sq));
        }
        return 0;
    }
    if (getenv("GHMM_BW_DEBUG")) {
        fprintf(stderr, "check %d M %d N %d maxorder %d b0 %g %g pow %p\n", ghmm_dmodel_check(mo), mo->M, mo->N, mo->maxorder, mo->s[0].b[0], mo->s[0].b[12], (void *)mo->pow_lookup);
        fprintf(stderr, "seq0 %d %d %d len %d\n", sq->seq[0][0], sq->seq[0][1], sq->seq[0][2], sq->seq_len[0]);
    }
    double t0 = now();
    ghmm_dmodel_baum_welch_nstep(mo, sq, steps, 0.0);
    printf("%.6f\n", now() - t0);
    return 0;
}
