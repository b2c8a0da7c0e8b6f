// faiss peer for `vkrec bench quantize`: nearest-codeword assignment (IndexFlatL2, k = 1) and one
// k-means iteration (faiss::Clustering, its own per-iteration time) on the same synthetic data as
// vkrec's suite, timed the same way (warm-up, then the median of `runs`). Prints one JSON line.
// usage: vkrec-faiss-peer N D K RUNS
#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s N D K RUNS\n", argv[0]);
        return 2;
    }
    const size_t n = std::strtoul(argv[1], nullptr, 10), d = std::strtoul(argv[2], nullptr, 10);
    const size_t k = std::strtoul(argv[3], nullptr, 10), runs = std::strtoul(argv[4], nullptr, 10);
    if (!n || !d || !k || !runs || k > n) return 2;
    std::vector<float> x(n * d), c(k * d);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)((uint32_t)(i * 2654435761u) % 2001) / 1000.0f - 1;
    for (size_t i = 0; i < k * d; i++) c[i] = x[i * 389 % (n * d)]; // the suite's data, bit for bit
    faiss::IndexFlatL2 index(d);
    index.add(k, c.data());
    std::vector<float> dist(n);
    std::vector<faiss::Index::idx_t> code(n);
    std::vector<double> assign, iter;
    for (size_t r = 0; r < runs + 1; r++) { // the first run warms up
        auto t0 = std::chrono::steady_clock::now();
        index.search(n, x.data(), 1, dist.data(), code.data());
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (r) assign.push_back(n / s);
        faiss::ClusteringParameters cp;
        cp.niter = 1;
        cp.max_points_per_centroid = (int)(n / k + 1); // no subsampling: every vector, as vkrec does
        faiss::Clustering clus(d, k, cp);
        clus.centroids = c; // start from the suite's centroids
        faiss::IndexFlatL2 work(d);
        clus.train(n, x.data(), work);
        if (r && !clus.iteration_stats.empty()) iter.push_back(clus.iteration_stats.back().time * 1e3);
    }
    std::printf("{\"assign_vectors_per_s\": %.6g, \"kmeans_iteration_ms\": %.6g}\n", median(assign),
                iter.empty() ? -1.0 : median(iter));
    return 0;
}
