// Ship the pixel bundle with the relay route's function (it is read from node_modules at run time).
/** @type {import('next').NextConfig} */
export default {
  outputFileTracingIncludes: { '/wq/[...path]': ['./node_modules/whopq/dist/whopq.js'] },
};
