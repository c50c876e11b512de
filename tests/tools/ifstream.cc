// SPDX-License-Identifier: MIT
//
// ifstream.cc - a C++ program reading a file with std::ifstream and a
// directory with std::filesystem.  Prints what it saw with paths relative to
// its arguments, so the output on a mounted path and on a local copy must be
// byte for byte the same.  Not built by the Makefile (it globs *.c):
// test_programs.sh compiles it with c++ -std=c++17 -O2.
//
//   ifstream FILE DIR
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

static uint64_t fnv(const std::string &s, uint64_t h = 1469598103934665603ULL)
{
	for (unsigned char c : s)
		h = (h ^ c) * 1099511628211ULL;
	return h;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::cerr << "usage: ifstream FILE DIR\n";
		return 2;
	}
	const std::string file = argv[1], dir = argv[2];
	std::ifstream in(file, std::ios::binary);
	if (!in) {
		std::cout << "open failed\n";
		return 1;
	}
	in.seekg(0, std::ios::end);
	std::streamoff size = in.tellg();
	std::cout << "size " << size << "\n";
	in.seekg(0);
	std::ostringstream all;
	all << in.rdbuf();
	std::cout << "rdbuf " << all.str().size() << " " << std::hex << fnv(all.str()) << std::dec << "\n";

	in.clear();
	in.seekg(size / 3);
	std::string piece(1000, '\0');
	in.read(&piece[0], 1000);
	std::cout << "read@" << size / 3 << " " << in.gcount() << " " << std::hex << fnv(piece)
		  << std::dec << " tellg " << in.tellg() << "\n";

	std::ifstream text(file);
	std::string line;
	long lines = 0;
	uint64_t h = 1469598103934665603ULL;
	while (std::getline(text, line)) {
		lines++;
		h = fnv(line, h);
	}
	std::cout << "getline " << lines << " " << std::hex << h << std::dec << " eof " << text.eof() << "\n";

	std::ifstream words(file);
	std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
	std::cout << "words " << w.size() << (w.empty() ? "" : " last " + w.back()) << "\n";

	std::ifstream chars(file);
	chars.seekg(-7, std::ios::end);
	std::string tail{std::istreambuf_iterator<char>(chars), {}};
	std::cout << "tail " << std::hex << fnv(tail) << std::dec << "\n";

	std::error_code ec;
	std::cout << "exists " << fs::exists(file) << " regular " << fs::is_regular_file(file)
		  << " file_size " << fs::file_size(file, ec) << " dir " << fs::is_directory(dir) << "\n";
	std::vector<std::string> seen;
	for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
	     it.increment(ec)) {
		const fs::directory_entry &e = *it;
		std::string rel = e.path().string().substr(dir.size() + (dir.back() == '/' ? 0 : 1));
		if (e.is_directory())
			seen.push_back(rel + "/ dir");
		else
			seen.push_back(rel + " " + std::to_string(e.file_size()));
	}
	if (ec)
		std::cout << "directory iteration failed: " << ec.message() << "\n";
	std::sort(seen.begin(), seen.end());
	for (const auto &s : seen)
		std::cout << s << "\n";
	return 0;
}
